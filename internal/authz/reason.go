package authz

// Reason is why an authorizer refused a request (or could not decide). It
// is part of the one vocabulary of refusal codes, next to trust.Reason
// (ClientCert...) and the gateway's own codes: the same string goes into
// logs, the problem+json "code" and the reason label of
// certgate_authz_decisions_total. The values are stable; never rename one.
type Reason string

// Reason codes of the JWT verifier and the external authorizer.
const (
	ReasonTokenMissing             Reason = "TokenMissing"
	ReasonTokenInvalid             Reason = "TokenInvalid"
	ReasonTokenExpired             Reason = "TokenExpired"
	ReasonTokenNotYetValid         Reason = "TokenNotYetValid"
	ReasonTokenIssuerMismatch      Reason = "TokenIssuerMismatch"
	ReasonTokenAudienceMismatch    Reason = "TokenAudienceMismatch"
	ReasonTokenUnknownKey          Reason = "TokenUnknownKey"
	ReasonTokenBadSignature        Reason = "TokenBadSignature"
	ReasonTokenAlgorithmNotAllowed Reason = "TokenAlgorithmNotAllowed"
	ReasonTokenNotBound            Reason = "TokenNotBound"
	ReasonScopeMissing             Reason = "ScopeMissing"
	ReasonClaimMismatch            Reason = "ClaimMismatch"
	ReasonAuthorizerDenied         Reason = "AuthorizerDenied"
	ReasonAuthorizerUnavailable    Reason = "AuthorizerUnavailable"
)

// reasons lists every reason with the sentence Describe returns. The
// sentences are also the error_description of WWW-Authenticate, so they
// hold no quote or backslash.
var reasons = []struct {
	r    Reason
	desc string
}{
	{ReasonTokenMissing, "The request carries no bearer token."},
	{ReasonTokenInvalid, "The bearer token is malformed."},
	{ReasonTokenExpired, "The bearer token has expired."},
	{ReasonTokenNotYetValid, "The bearer token is not valid yet."},
	{ReasonTokenIssuerMismatch, "The bearer token was issued by an issuer this authorizer does not accept."},
	{ReasonTokenAudienceMismatch, "The bearer token is not meant for this audience."},
	{ReasonTokenUnknownKey, "The bearer token is signed with a key the issuer does not publish."},
	{ReasonTokenBadSignature, "The bearer token's signature does not verify."},
	{ReasonTokenAlgorithmNotAllowed, "The bearer token is signed with an algorithm this authorizer does not accept for its key."},
	{ReasonTokenNotBound, "The bearer token is not bound to the client certificate of this connection (RFC 8705)."},
	{ReasonScopeMissing, "The bearer token lacks a scope this route requires."},
	{ReasonClaimMismatch, "The bearer token's claims do not meet this authorizer's conditions."},
	{ReasonAuthorizerDenied, "The external authorizer refused the request."},
	{ReasonAuthorizerUnavailable, "The authorizer could not decide (keys or the external authorizer are unavailable), so the request is refused."},
}

// Reasons lists all reason codes, for documentation and for pre-registering
// metrics labels. The caller may modify the returned slice.
func Reasons() []Reason {
	out := make([]Reason, len(reasons))
	for i, e := range reasons {
		out[i] = e.r
	}
	return out
}

// Describe returns one plain-English sentence about the reason. It never
// contains token or certificate data.
func (r Reason) Describe() string {
	for _, e := range reasons {
		if e.r == r {
			return e.desc
		}
	}
	return "The request was refused by an authorizer."
}
