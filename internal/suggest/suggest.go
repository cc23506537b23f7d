// Package suggest finds the word a person most likely meant: the "did
// you mean" of unknown fields in the declarative file and in admin API
// bodies (and of misspelled flags). It is a leaf: strings in, a string
// out, the standard library only.
package suggest

import (
	"fmt"
	"strings"
)

// maxWord is the longest word that gets a suggestion: longer input is
// not a misspelling, and comparing it would cost more than it is worth.
const maxWord = 64

// Closest returns the candidate that word most likely misspells: one
// equal but for case, else the closest within an edit distance of 2 (1
// for names of up to 3 bytes), else "".
func Closest(word string, candidates []string) string {
	for _, c := range candidates {
		if strings.EqualFold(word, c) {
			return c
		}
	}
	if len(word) > maxWord {
		return ""
	}
	best, bestD := "", 3
	lw := strings.ToLower(word)
	for _, c := range candidates {
		limit := 2
		if len(c) <= 3 {
			limit = 1
		}
		if d := distance(lw, strings.ToLower(c)); d <= limit && d < len(c) && d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// UnknownField is the message for an unknown field key where the fields
// are names: it suggests the one key most likely misspells, or lists
// them all.
func UnknownField(key string, names []string) string {
	if s := Closest(key, names); s != "" {
		return fmt.Sprintf("unknown field; did you mean %q?", s)
	}
	return "unknown field; the fields here are " + strings.Join(names, ", ")
}

// distance is the Levenshtein distance between a and b, in bytes, with
// two rows of memory.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
