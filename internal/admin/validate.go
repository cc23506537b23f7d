package admin

import (
	"regexp"
)

// namePattern is the charset of names the schema does not cover (stage
// names): that of truststore, API and integration names.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// variablePattern is the charset of stage variable names.
var variablePattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// idPattern is the charset of object IDs given as references.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
