// Package duration holds the one duration type of certgate's
// configuration and admin API: a time.Duration written as a Go duration
// string or a whole number of seconds. It is a leaf: the configuration
// and the authorizers' settings (which the configuration embeds) both
// use it, so a file decodes both alike. Standard library only.
package duration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("30s",
// "1m30s", "250ms") or as a whole number of seconds (30). It is marshaled
// as a string.
type Duration time.Duration

// String returns the duration in Go's notation, e.g. "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string such as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts a duration string or a whole number of seconds.
// A JSON null leaves d unchanged.
func (d *Duration) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		v, err := Parse(s)
		if err != nil {
			return err
		}
		*d = v
		return nil
	}
	v, err := Seconds(string(data))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Parse parses a duration string with a unit, or "0"; its errors say
// how to write one.
func Parse(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		q := quote(s)
		if s != "" && strings.Trim(s, "0123456789") == "" {
			return 0, fmt.Errorf("%s is not a duration: add a unit, like \"%ss\" (a number without quotes is read as seconds)", q, s)
		}
		return 0, fmt.Errorf("%s is not a duration: use a number with a unit, like \"30s\", \"1m30s\" or \"250ms\"", q)
	}
	return Duration(v), nil
}

// Seconds parses a decimal integer number of seconds.
func Seconds(s string) (Duration, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%s seconds is out of range", quote(s))
		}
		return 0, fmt.Errorf("%s is not a duration: use a whole number of seconds or a string like \"30s\"", quote(s))
	}
	const maxSeconds = math.MaxInt64 / int64(time.Second)
	if n > maxSeconds || n < -maxSeconds {
		return 0, fmt.Errorf("%d seconds is out of range", n)
	}
	return Duration(time.Duration(n) * time.Second), nil
}

// maxQuoted bounds how much of a value an error message quotes.
const maxQuoted = 64

// quote returns s in Go quoted form, shortened when long.
func quote(s string) string {
	if len(s) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}
