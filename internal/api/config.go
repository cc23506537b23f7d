package api

// ApplyResult is the answer of POST /v1/config/apply.
type ApplyResult struct {
	// DryRun: the changes were made and checked, then rolled back.
	DryRun bool `json:"dryRun"`
	// Changes are what the apply made (or would make), one line each:
	// "+ truststore partners", "~ route orders GET /x", "- domain a.example".
	// Empty when the store already held the file.
	Changes []string `json:"changes"`
	// Revision is the store revision after the apply (the current one
	// when nothing changed); 0 for a dry run.
	Revision int64 `json:"revision,omitempty"`
}
