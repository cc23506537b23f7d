package trust

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestReasonCode(t *testing.T) {
	tests := []struct {
		r    Reason
		p    Purpose
		want string
	}{
		{ReasonUntrusted, PurposeClient, "ClientCertUntrusted"},
		{ReasonUntrusted, PurposeServer, "ServerCertUntrusted"},
		{ReasonRevoked, PurposeServer, "ServerCertRevoked"},
		{ReasonNameMismatch, PurposeServer, "ServerCertNameMismatch"},
		{ReasonNameMismatch, PurposeClient, "ServerCertNameMismatch"},
	}
	for _, tt := range tests {
		if got := tt.r.Code(tt.p); got != tt.want {
			t.Errorf("%s.Code(%v) = %q, want %q", tt.r, tt.p, got, tt.want)
		}
	}
}

func TestReasons(t *testing.T) {
	rs := Reasons()
	if len(rs) != 14 {
		t.Errorf("Reasons() has %d entries, want 14", len(rs))
	}
	seen := map[Reason]bool{}
	for _, r := range rs {
		if seen[r] {
			t.Errorf("Reasons() lists %s twice", r)
		}
		seen[r] = true
		for _, p := range []Purpose{PurposeClient, PurposeServer} {
			d := r.DescribeFor(p)
			if d == "" || !strings.HasSuffix(d, ".") || strings.Contains(d, "%") {
				t.Errorf("%s.DescribeFor(%v) = %q, want a sentence", r, p, d)
			}
		}
		if r.Describe() != r.DescribeFor(PurposeClient) {
			t.Errorf("%s.Describe() differs from DescribeFor(PurposeClient)", r)
		}
	}
	if d := ReasonPurposeInvalid.DescribeFor(PurposeServer); !strings.Contains(d, "server certificate") || !strings.Contains(d, "TLS server authentication") {
		t.Errorf("DescribeFor(PurposeServer) = %q, want it about the server", d)
	}
	if d := Reason("Bogus").Describe(); d == "" {
		t.Error("Describe() of an unknown reason is empty")
	}
}

func TestErrorIs(t *testing.T) {
	sentinels := map[Reason]error{
		ReasonMissing: ErrMissing, ReasonUntrusted: ErrUntrusted, ReasonExpired: ErrExpired,
		ReasonNotYetValid: ErrNotYetValid, ReasonRevoked: ErrRevoked, ReasonCrlStale: ErrCrlStale,
		ReasonMaxChainDepthExceeded: ErrMaxChainDepthExceeded, ReasonPurposeInvalid: ErrPurposeInvalid,
		ReasonTypeUnsupported: ErrTypeUnsupported, ReasonInvalid: ErrInvalid, ReasonRejected: ErrRejected,
		ReasonMaxSizeExceeded: ErrMaxSizeExceeded, ReasonNameMismatch: ErrNameMismatch, ReasonLeafIsCA: ErrLeafIsCA,
	}
	for _, r := range Reasons() {
		sentinel, ok := sentinels[r]
		if !ok {
			t.Errorf("no sentinel for %s", r)
			continue
		}
		err := fmt.Errorf("handshake: %w", &Error{Reason: r, Detail: "something specific"})
		for r2, s2 := range sentinels {
			if got := errors.Is(err, s2); got != (r == r2) {
				t.Errorf("errors.Is(%s error, %v) = %t", r, s2, got)
			}
		}
		if !errors.Is(sentinel, sentinel) {
			t.Errorf("errors.Is(%v, itself) = false", sentinel)
		}
	}
	specific := &Error{Reason: ReasonRevoked, Detail: "a"}
	if errors.Is(&Error{Reason: ReasonRevoked, Detail: "b"}, specific) {
		t.Error("an Error with Detail matched another Error with Detail")
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Reason: ReasonRevoked, Detail: `"CN=alice" (serial 0A) is revoked`}, `ClientCertRevoked: "CN=alice" (serial 0A) is revoked`},
		{&Error{Reason: ReasonUntrusted, Detail: "x", Purpose: PurposeServer}, "ServerCertUntrusted: x"},
		{ErrMissing, "ClientCertMissing: No client certificate was presented."},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
