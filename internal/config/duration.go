package config

import "github.com/certgate/certgate/internal/duration"

// Duration is a time.Duration written as a Go duration string ("30s",
// "1m30s", "250ms") or as a whole number of seconds (30), marshaled as a
// string (package duration: the authorizers' settings use it too).
type Duration = duration.Duration
