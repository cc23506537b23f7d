package certheader_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"

	"github.com/certgate/certgate/internal/certheader"
)

// The gateway encodes the headers once per TLS connection, then, on each
// request, strips what the client sent and applies its own.
func ExampleEncode() {
	data, err := os.ReadFile("testdata/chain.pem")
	if err != nil {
		panic(err)
	}
	var chain []*x509.Certificate // as presented: leaf, then intermediates
	for b, rest := pem.Decode(data); b != nil; b, rest = pem.Decode(rest) {
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			panic(err)
		}
		chain = append(chain, c)
	}

	fields := certheader.Encode([]certheader.Dialect{certheader.RFC9440, certheader.ALB}, certheader.Verified, chain)

	h := http.Header{"Client-Cert": {":c3Bvb2ZlZA==:"}, "Connection": {"Client-Cert"}}
	certheader.Strip(h, certheader.Names{})
	certheader.Apply(h, fields)

	for _, f := range fields {
		fmt.Printf("%s: %s\n", f.Name, h.Get(f.Name))
	}
	// Output:
	// Certgate-Client-Cert-Status: verified
	// Client-Cert: :MIICmDCCAj6gAwIBAgIQA6WxwtPk9QYXKDlKW2x9jjAKBggqhkjOPQQDAjA2MRYwFAYDVQQKEw1jZXJ0Z2F0ZSB0ZXN0MRwwGgYDVQQDExNUZXN0IEludGVybWVkaWF0ZSAyMB4XDTI2MDEwMjAzMDQwNVoXDTI3MDEwMjAzMDQwNVowVzELMAkGA1UEBhMCVVMxFjAUBgNVBAoTDUV4YW1wbGUsIEluYy4xETAPBgNVBAsTCFBheW1lbnRzMR0wGwYDVQQDExRjbGllbnQtMS5leGFtcGxlLmNvbTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJS8E2TpopSLu1DUygNxJNeqLaJvkTirPzTk+uRysQMGid/0HHDzR+YZP3DJaMKEp4W50ilKQliC/XQqhUllUn6jggELMIIBBzAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwIwDAYDVR0TAQH/BAIwADAdBgNVHQ4EFgQUBf3ZOD/BufZalVZLsYIU0tg2dTUwHwYDVR0jBBgwFoAUapF0NJpwPq5hmUiUVsrIFL8lfHswgZEGA1UdEQSBiTCBhoIUY2xpZW50LTEuZXhhbXBsZS5jb22CHWNsaWVudC0xLmludGVybmFsLmV4YW1wbGUuY29thixzcGlmZmU6Ly9leGFtcGxlLm9yZy9ucy9wYXltZW50cy9zYS9jbGllbnQtMYYhaHR0cHM6Ly9pZC5leGFtcGxlLm9yZy9jbGllbnQ7dj0xMAoGCCqGSM49BAMCA0gAMEUCIAo7BMn9Vlxk4TnPahN4PbHR16FzcqJgEsAhuZNNBi08AiEAqylvUM79N7KGOb2mOzbBtFGuctgkBsltsVwxIeuXq1Y=:
	// Client-Cert-Chain: :MIIBzjCCAXSgAwIBAgIRAL8XW2aJkGxhpe7TCH9gv7swCgYIKoZIzj0EAwIwNjEWMBQGA1UEChMNY2VydGdhdGUgdGVzdDEcMBoGA1UEAxMTVGVzdCBJbnRlcm1lZGlhdGUgMTAeFw0yNjExMjExNTQ4MjJaFw0zMTExMjAxNTQ5MjJaMDYxFjAUBgNVBAoTDWNlcnRnYXRlIHRlc3QxHDAaBgNVBAMTE1Rlc3QgSW50ZXJtZWRpYXRlIDIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQ+eiKZEt415Y1j8GnP56UF4XVkVtmxl31q54opJ+mrj6VEpjoCmWbDUzNXDIQSdCCPFIRBoMg98zL1lThxE+tCo2MwYTAOBgNVHQ8BAf8EBAMCAYYwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUapF0NJpwPq5hmUiUVsrIFL8lfHswHwYDVR0jBBgwFoAUJ6MXbRlZgPYmgSNsR0+DGlTl7jAwCgYIKoZIzj0EAwIDSAAwRQIgcy3KLvCe+vKXQkBDcyqKkqljrF14jQuPd88pgWhGALkCIQCXvtHoLC3H7tDO+qd2ZGb5UxUoZ/gPTPcQp8eMVzxYdg==:, :MIIBzTCCAXKgAwIBAgIQRFCXCSEYclPeCAA+YFy/OzAKBggqhkjOPQQDAjA1MRYwFAYDVQQKEw1jZXJ0Z2F0ZSB0ZXN0MRswGQYDVQQDExJjZXJ0Z2F0ZSBUZXN0IFJvb3QwHhcNMjYxMTIxMTU0ODIyWhcNMzExMTIwMTU0OTIyWjA2MRYwFAYDVQQKEw1jZXJ0Z2F0ZSB0ZXN0MRwwGgYDVQQDExNUZXN0IEludGVybWVkaWF0ZSAxMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAETc+LfCEXQ8IeiYHeeWLUtZplsRLNr8ECROFFfMmAd6rBy8f5H5t19km5IU6ONAnaGmGfsYm5qS4HQ/gxSUDX+6NjMGEwDgYDVR0PAQH/BAQDAgGGMA8GA1UdEwEB/wQFMAMBAf8wHQYDVR0OBBYEFCejF20ZWYD2JoEjbEdPgxpU5e4wMB8GA1UdIwQYMBaAFBhOwMreO/B1mjxgwweULf7oiUGSMAoGCCqGSM49BAMCA0kAMEYCIQDxrgBfIpx6C7zGDrpwXbdOll3AB0xP8QBn2wRlY7OnLwIhAJRRlTqNU4ZcejXQA/KhrJzwbhIBgJ1EgGQLf25L/5/8:
	// X-Amzn-Mtls-Clientcert-Serial-Number: 03A5B1C2D3E4F5061728394A5B6C7D8E
	// X-Amzn-Mtls-Clientcert-Issuer: CN=Test Intermediate 2,O=certgate test
	// X-Amzn-Mtls-Clientcert-Subject: CN=client-1.example.com,OU=Payments,O=Example\, Inc.,C=US
	// X-Amzn-Mtls-Clientcert-Validity: NotBefore=2026-01-02T03:04:05Z;NotAfter=2027-01-02T03:04:05Z
	// X-Amzn-Mtls-Clientcert-Leaf: -----BEGIN%20CERTIFICATE-----%0AMIICmDCCAj6gAwIBAgIQA6WxwtPk9QYXKDlKW2x9jjAKBggqhkjOPQQDAjA2MRYw%0AFAYDVQQKEw1jZXJ0Z2F0ZSB0ZXN0MRwwGgYDVQQDExNUZXN0IEludGVybWVkaWF0%0AZSAyMB4XDTI2MDEwMjAzMDQwNVoXDTI3MDEwMjAzMDQwNVowVzELMAkGA1UEBhMC%0AVVMxFjAUBgNVBAoTDUV4YW1wbGUsIEluYy4xETAPBgNVBAsTCFBheW1lbnRzMR0w%0AGwYDVQQDExRjbGllbnQtMS5leGFtcGxlLmNvbTBZMBMGByqGSM49AgEGCCqGSM49%0AAwEHA0IABJS8E2TpopSLu1DUygNxJNeqLaJvkTirPzTk+uRysQMGid/0HHDzR+YZ%0AP3DJaMKEp4W50ilKQliC/XQqhUllUn6jggELMIIBBzAOBgNVHQ8BAf8EBAMCB4Aw%0AEwYDVR0lBAwwCgYIKwYBBQUHAwIwDAYDVR0TAQH/BAIwADAdBgNVHQ4EFgQUBf3Z%0AOD/BufZalVZLsYIU0tg2dTUwHwYDVR0jBBgwFoAUapF0NJpwPq5hmUiUVsrIFL8l%0AfHswgZEGA1UdEQSBiTCBhoIUY2xpZW50LTEuZXhhbXBsZS5jb22CHWNsaWVudC0x%0ALmludGVybmFsLmV4YW1wbGUuY29thixzcGlmZmU6Ly9leGFtcGxlLm9yZy9ucy9w%0AYXltZW50cy9zYS9jbGllbnQtMYYhaHR0cHM6Ly9pZC5leGFtcGxlLm9yZy9jbGll%0AbnQ7dj0xMAoGCCqGSM49BAMCA0gAMEUCIAo7BMn9Vlxk4TnPahN4PbHR16FzcqJg%0AEsAhuZNNBi08AiEAqylvUM79N7KGOb2mOzbBtFGuctgkBsltsVwxIeuXq1Y=%0A-----END%20CERTIFICATE-----%0A
}
