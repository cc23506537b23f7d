package trust

import (
	"bytes"
	"crypto/x509"
)

// Chain depth is counted along the whole path to the self-signed root
// whenever the truststore holds that root, as AWS counts its "up to four
// levels". A bundle made AWS-style (`cat Intermediate… Root > bundle.pem`)
// makes every intermediate a trust anchor, and crypto/x509 stops building
// at the first anchor it meets: counted there, a leaf under the lowest
// intermediate would be one level deep however long the real hierarchy
// is. So for every anchor that is not self-signed, New finds how many of
// the truststore's own CA certificates sit above it: on the shortest path
// to a self-signed one, or, when none is reachable (the root is not in
// the truststore), as far up as its certificates lead. Verify adds that
// to the built chain's length. An anchor none of whose issuers is in the
// truststore (an intermediate held alone) counts as the top.

// height is what the truststore holds above an anchor.
type height struct {
	n    int               // CA certificates above the anchor, up to and including top
	top  *x509.Certificate // the highest of them
	root bool              // top is self-signed
}

// anchorHeights returns, by DER, the height of every anchor in roots that
// is not self-signed and has at least one issuer in cas (the truststore's
// roots and intermediates). An edge from c up to p needs p's subject to be
// c's issuer, key identifiers that do not contradict each other, and c's
// signature to verify with p's key; the signature algorithm is not judged
// here (a SHA-1 link still counts as a level: counting is never laxer for
// it). Each pair of certificates with matching names is checked once.
func anchorHeights(roots, cas []*x509.Certificate) map[string]height {
	var out map[string]height
	bySubject := make(map[string][]*x509.Certificate, len(cas))
	for _, c := range cas {
		bySubject[string(c.RawSubject)] = append(bySubject[string(c.RawSubject)], c)
	}
	memo := make(map[*x509.Certificate][]*x509.Certificate)
	issuersOf := func(c *x509.Certificate) []*x509.Certificate {
		if ps, ok := memo[c]; ok {
			return ps
		}
		var ps []*x509.Certificate
		for _, p := range bySubject[string(c.RawIssuer)] {
			if p == c || bytes.Equal(p.Raw, c.Raw) {
				continue
			}
			if len(c.AuthorityKeyId) > 0 && len(p.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyId, p.SubjectKeyId) {
				continue
			}
			if p.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
				continue
			}
			ps = append(ps, p)
		}
		memo[c] = ps
		return ps
	}
	for _, r := range roots {
		if selfSigned(r) {
			continue
		}
		// Breadth first: the first self-signed certificate met is on a
		// shortest path; without one, the last level reached is as far
		// up as the truststore leads.
		var h height
		seen := map[*x509.Certificate]bool{r: true}
		level := []*x509.Certificate{r}
	search:
		for n := 1; len(level) > 0; n++ {
			var next []*x509.Certificate
			for _, c := range level {
				for _, p := range issuersOf(c) {
					if seen[p] {
						continue
					}
					seen[p] = true
					if selfSigned(p) {
						h = height{n: n, top: p, root: true}
						break search
					}
					if h.n < n {
						h = height{n: n, top: p}
					}
					next = append(next, p)
				}
			}
			level = next
		}
		if h.n > 0 {
			if out == nil {
				out = make(map[string]height)
			}
			out[string(r.Raw)] = h
		}
	}
	return out
}

// depth is the number of CA certificates above the leaf of a built chain
// (which ends at an anchor), counted on through the truststore's
// certificates above that anchor, and what the count ended at when that
// is beyond the chain (the zero height otherwise).
func (s *Store) depth(ch []*x509.Certificate) (int, height) {
	n := len(ch) - 1
	if len(s.heights) == 0 {
		return n, height{}
	}
	h := s.heights[string(ch[len(ch)-1].Raw)]
	return n + h.n, h
}
