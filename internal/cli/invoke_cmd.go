package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/certgate/certgate/internal/api"
)

// printInvokeResult writes a test invocation as a status line, headers
// and body (like curl -i), then what the gateway did: latency, route,
// back-end TLS and log lines.
func printInvokeResult(w io.Writer, r *api.InvokeResult) error {
	fmt.Fprintf(w, "HTTP %d %s\n", r.Status, http.StatusText(r.Status))
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range r.Header[k] {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(w)
	switch {
	case r.BodyBase64:
		n := base64.StdEncoding.DecodedLen(len(r.Body))
		if b, err := base64.StdEncoding.DecodeString(r.Body); err == nil {
			n = len(b)
		}
		fmt.Fprintf(w, "(%d bytes of binary body; -o json shows it in base64)\n", n)
	case r.Body != "":
		io.WriteString(w, r.Body)
		if !strings.HasSuffix(r.Body, "\n") {
			fmt.Fprintln(w)
		}
	}
	if r.Truncated {
		fmt.Fprintln(w, "(body truncated at 1 MiB)")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(label, format string, a ...any) { fmt.Fprintf(tw, "%s\t%s\n", label, fmt.Sprintf(format, a...)) }
	line("latency", "%s ms", formatMillis(r.LatencyMillis))
	if r.Route != "" {
		to := "integration " + r.Integration
		if r.UpstreamURL != "" {
			to += " (" + r.UpstreamURL + ")"
		}
		line("route", "%s → %s", r.Route, to)
	} else {
		line("route", "none matched")
	}
	if r.Code != "" {
		line("answered by", "the gateway: %s", r.Code)
	}
	switch b := r.BackendTLS; {
	case b != nil:
		line("back end", "%s", backendSummary(b))
		if b.InsecureSkipVerify {
			line("WARNING", "insecureSkipVerify: the gateway accepts ANY certificate from this back end; it is not authenticated")
		}
	case r.ConnectionReused:
		line("back end", "reused a pooled connection: no handshake (certgate integrations tls shows the last one)")
	}
	if len(r.Log) > 0 {
		for i, l := range r.Log {
			label := ""
			if i == 0 {
				label = "log"
			}
			line(label, "%s", strings.TrimSpace(string(l)))
		}
	}
	return tw.Flush()
}

// formatMillis prints a latency with at most three decimals.
func formatMillis(ms float64) string {
	s := fmt.Sprintf("%.3f", ms)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// backendSummary is one line about a test call's back-end handshake.
func backendSummary(b *api.BackendTLS) string {
	var parts []string
	if b.Verified {
		parts = append(parts, markOK+" "+handshakeLine(b))
	} else {
		why := b.Reason
		if why == "" {
			why = "not verified"
		}
		if b.Detail != "" {
			why += ": " + b.Detail
		}
		parts = append(parts, markBad+" "+why)
	}
	if len(b.Chain) > 0 {
		parts = append(parts, b.Chain[0].Subject)
	}
	switch {
	case b.ClientCertPresented != "":
		parts = append(parts, "client certificate "+b.ClientCertPresented+" presented")
	case b.ClientCertRequested:
		parts = append(parts, "client certificate asked, none presented")
	}
	return strings.Join(parts, ", ")
}

func runTestInvoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("test-invoke", "API [--stage S] [--method GET] [--header 'K: V' ...] [--data BODY | --data-file F] [--client-certificate ID] PATH\n\n"+
		"Runs one request through the API's live pipeline (routes, rules, stage, back-end TLS), without a\n"+
		"front-door client certificate, and prints the answer and what the gateway did. PATH is relative to\n"+
		"the API (what follows a mapping's base path) and may carry a ?query. Exit status: 0 when the\n"+
		"request ran (whatever its HTTP status; --fail: 1 for 4xx and 5xx), 1 on an error, 2 for bad usage.", stderr)
	a := &adminFlags{}
	a.register(fs)
	stage := fs.String("stage", "", "stage (default: the API's only stage, or none)")
	method := fs.String("method", "GET", "HTTP method")
	fs.StringVar(method, "X", "GET", "same as --method")
	var headers multiFlag
	fs.Var(&headers, "header", "request header 'Name: value' (repeatable)")
	fs.Var(&headers, "H", "same as --header")
	data := fs.String("data", "", "request body")
	dataFile := fs.String("data-file", "", "file holding the request body (- for standard input)")
	cc := fs.String("client-certificate", "", "present this client certificate (ID) to the back end instead of the stage's")
	failHTTP := fs.Bool("fail", false, "exit 1 when the answer's status is 400 or more")
	pos, err := parseWithPositional(fs, args, 2)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(pos[1], "/") {
		return usageError("PATH %q must start with / (it is relative to the API)", pos[1])
	}
	if *data != "" && *dataFile != "" {
		return usageError("give --data or --data-file, not both")
	}
	body := api.InvokeRequest{Method: strings.ToUpper(*method), Path: pos[1], Stage: *stage, ClientCertificateID: *cc}
	if len(headers) > 0 {
		h := map[string]string{}
		for _, kv := range headers {
			k, v, ok := strings.Cut(kv, ":")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return usageError("--header %q: want 'Name: value'", kv)
			}
			v = strings.TrimSpace(v)
			ck := http.CanonicalHeaderKey(k)
			if prev, ok := h[ck]; ok {
				v = prev + ", " + v
			}
			h[ck] = v
		}
		body.Headers = h
	}
	payload := []byte(*data)
	switch *dataFile {
	case "":
	case "-":
		if payload, err = io.ReadAll(os.Stdin); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("--data-file -: %w", err)}
		}
	default:
		if payload, err = os.ReadFile(*dataFile); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("--data-file: %w", err)}
		}
	}
	if len(payload) > 0 {
		if utf8.Valid(payload) {
			body.Body = string(payload)
		} else {
			body.Body, body.BodyBase64 = base64.StdEncoding.EncodeToString(payload), true
		}
	}
	apiID, err := a.resolveID(ctx, "/v1/apis", pos[0])
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	r, err := c.TestInvoke(ctx, apiID, body)
	if err != nil {
		return problemError(err)
	}
	if a.output == "table" {
		err = printInvokeResult(stdout, r)
	} else {
		raw, _ := json.Marshal(r)
		err = a.print(stdout, raw)
	}
	if err != nil {
		return err
	}
	if *failHTTP && r.Status >= 400 {
		return &exitError{code: 1, err: fmt.Errorf("the answer is %d %s", r.Status, http.StatusText(r.Status))}
	}
	return nil
}
