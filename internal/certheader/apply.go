package certheader

import "net/http"

// Apply sets each field on h, replacing any value under the same
// canonical name. Call it after Strip and after hop-by-hop header
// processing, so that neither client-sent copies nor a client's
// Connection header can interfere. It allocates one []string backing all
// the fields' values (plus any map growth); each value slice has capacity
// one, so a later Add on h copies rather than overwriting a neighbour.
func Apply(h http.Header, fields []Field) {
	vals := make([]string, len(fields))
	for i, f := range fields {
		vals[i] = f.Value
		h[f.Name] = vals[i : i+1 : i+1]
	}
}
