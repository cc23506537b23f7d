package ca

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/certgate/certgate/internal/model"
	"github.com/certgate/certgate/internal/pki"
	"github.com/certgate/certgate/internal/store"
)

// signCRL signs the CA's next CRL from its revocations and stores it in
// ca (the caller writes ca). It reads no other record, so a revocation
// costs the same however many certificates the CA issued.
func signCRL(ca *model.CA, iss *pki.Issuer, now time.Time) error {
	entries := make([]pki.RevokedEntry, 0, len(ca.Revocations))
	for _, r := range ca.Revocations {
		n, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			return fmt.Errorf("CA %q: stored serial %q is not hexadecimal", ca.Name, r.Serial)
		}
		reason, _ := pki.ParseRevocationReason(r.Reason)
		entries = append(entries, pki.RevokedEntry{Serial: n, RevokedAt: r.At, Reason: int(reason)})
	}
	validity := ca.CRLValidity
	if validity == 0 {
		validity = DefaultCRLValidity
	}
	next := now.Add(validity)
	if na := iss.Cert.NotAfter; next.After(na) {
		next = na
	}
	der, err := iss.SignCRL(entries, ca.CRLNumber+1, now, next)
	if err != nil {
		return fmt.Errorf("CA %q: sign CRL %d: %w", ca.Name, ca.CRLNumber+1, err)
	}
	ca.CRLNumber++
	ca.CRLPEM = string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
	ca.CRLThisUpdate, ca.CRLNextUpdate = now.UTC(), next.UTC()
	ca.Revoked = len(entries)
	return nil
}

// resign signs a new CRL for the CA stored as o (body ca) and writes the
// CA back in tx.
func (s *Service) resign(tx store.Tx, o store.Object, ca model.CA, now time.Time) error {
	iss, err := s.loadIssuer(tx, ca)
	if err != nil {
		return err
	}
	if err := signCRL(&ca, iss, now); err != nil {
		return err
	}
	o.Body = mustJSON(ca)
	_, err = tx.Replace(o, o.Rev)
	return err
}

// CRL returns CA id's current CRL (PEM) and the CA's revision; NotFound
// when the CA has none yet (pending).
func (s *Service) CRL(ctx context.Context, id string) (string, int64, error) {
	o, ca, err := getCA(storeGetter{ctx, s.st}, id)
	if err != nil {
		return "", 0, err
	}
	if ca.CRLPEM == "" {
		return "", 0, notFound("", "CA %s has no CRL yet", o.ID)
	}
	return ca.CRLPEM, o.Rev, nil
}

// Due reports whether a CA's CRL has used half its validity, or it has
// none: the CRL is re-signed then, so a published CRL never goes stale
// while it is re-signed on time.
func Due(ca model.CA, now time.Time) bool {
	if ca.CRLNextUpdate.IsZero() {
		return true
	}
	half := ca.CRLThisUpdate.Add(ca.CRLNextUpdate.Sub(ca.CRLThisUpdate) / 2)
	return !now.Before(half)
}

// ResignActor is who ResignDue's writes are recorded as.
var ResignActor = store.Actor{Name: "crl-refresher", Via: "node"}

// ResignDue re-signs the CRL of every CA whose current CRL is Due at now,
// each in its own revision written as ResignActor, and returns how many
// it re-signed. A CA deleted meanwhile is skipped; the first other
// failure stops it. The node calls it on its schedule.
func (s *Service) ResignDue(ctx context.Context, now time.Time) (int, error) {
	var ids []string
	err := s.st.View(ctx, func(rtx store.ReadTx) error {
		return store.ListAll(rtx, store.ListOptions{Kind: model.KindCA}, func(o store.Object) error {
			var ca model.CA
			if decodeBody(o, &ca) == nil && ca.CertPEM != "" && Due(ca, now) {
				ids = append(ids, o.ID)
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("list CAs to re-sign: %w", err)
	}
	n := 0
	for _, id := range ids {
		signed := false
		_, err := s.st.Update(ctx, ResignActor, now, func(tx store.Tx) error {
			o, ca, err := getCA(tx, id)
			if err != nil || !Due(ca, now) {
				return err
			}
			if err := s.resign(tx, o, ca, now); err != nil {
				return err
			}
			signed = true
			return nil
		})
		var e *Error
		if errors.As(err, &e) && e.Kind == NotFound {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("re-sign the CRL of CA %s: %w", id, err)
		}
		if signed {
			n++
			s.log.Info("CRL re-signed", "ca", id)
		}
	}
	return n, nil
}
