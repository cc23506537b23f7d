package authz

import (
	"fmt"
	"strconv"
)

// Policy is a route's compiled identity rules: deny rules, then allow
// rules. It is immutable and safe for concurrent use.
type Policy struct {
	allow, deny []compiledRule
}

// Compile compiles a route's allow and deny rules. With no rules at all it
// returns a nil Policy, which allows every identity. The error names the
// first invalid rule and field, as in "allow[1].sanIP: ..."; Check
// reports every problem of one rule.
func Compile(allow, deny []Rule) (*Policy, error) {
	if len(allow) == 0 && len(deny) == 0 {
		return nil, nil
	}
	var err error
	p := &Policy{}
	if p.allow, err = compileRules("allow", allow); err != nil {
		return nil, err
	}
	if p.deny, err = compileRules("deny", deny); err != nil {
		return nil, err
	}
	return p, nil
}

func compileRules(list string, rules []Rule) ([]compiledRule, error) {
	out := make([]compiledRule, 0, len(rules))
	for i := range rules {
		var probs []Problem
		cr := compileRule(&rules[i], &probs)
		if len(probs) > 0 {
			field := list + "[" + strconv.Itoa(i) + "]"
			if probs[0].Field != "" {
				field += "." + probs[0].Field
			}
			return nil, fmt.Errorf("%s: %s", field, probs[0].Message)
		}
		out = append(out, cr)
	}
	return out, nil
}

// Effect is what a Decision says.
type Effect uint8

const (
	// Allowed: no deny rule matched, and an allow rule matched or there
	// are none.
	Allowed Effect = iota
	// DeniedByRule: a deny rule matched.
	DeniedByRule
	// NoAllowMatch: there are allow rules and none matched.
	NoAllowMatch
	// NoIdentity: the policy has rules and there is no identity to match.
	NoIdentity
)

// Decision is the outcome of a Policy for one identity.
type Decision struct {
	Effect Effect
	// Rule is the index of the deciding rule: in the allow rules when
	// Allowed, in the deny rules when DeniedByRule; -1 when no rule
	// decided (no rules, NoAllowMatch, NoIdentity).
	Rule int
}

// Allowed reports whether d lets the request through.
func (d Decision) Allowed() bool { return d.Effect == Allowed }

// String names the decision for an access log: "allow[2]", "deny[0]",
// "no allow rule matched", "no identity" or "no rules".
func (d Decision) String() string {
	switch d.Effect {
	case Allowed:
		if d.Rule < 0 {
			return "no rules"
		}
		return "allow[" + strconv.Itoa(d.Rule) + "]"
	case DeniedByRule:
		return "deny[" + strconv.Itoa(d.Rule) + "]"
	case NoAllowMatch:
		return "no allow rule matched"
	case NoIdentity:
		return "no identity"
	}
	return "unknown"
}

// Decide applies p to id: a matching deny rule refuses, then, when there
// are allow rules, one of them must match. A nil Policy allows anything;
// a Policy with rules refuses a nil id.
func (p *Policy) Decide(id *Identity) Decision {
	if p == nil {
		return Decision{Effect: Allowed, Rule: -1}
	}
	if id == nil {
		return Decision{Effect: NoIdentity, Rule: -1}
	}
	if i := firstMatch(p.deny, id); i >= 0 {
		return Decision{Effect: DeniedByRule, Rule: i}
	}
	if len(p.allow) == 0 {
		return Decision{Effect: Allowed, Rule: -1}
	}
	if i := firstMatch(p.allow, id); i >= 0 {
		return Decision{Effect: Allowed, Rule: i}
	}
	return Decision{Effect: NoAllowMatch, Rule: -1}
}

// firstMatch returns the index of the first rule that matches id, or -1.
func firstMatch(rules []compiledRule, id *Identity) int {
	for i := range rules {
		if rules[i].match(id) {
			return i
		}
	}
	return -1
}
