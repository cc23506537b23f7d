package cli

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/certgate/certgate/internal/api"
)

// printStatus prints a node's status as a table: its own fields, the
// store's reachability, then one row per node of the store.
func printStatus(w io.Writer, a *adminFlags, st api.NodeStatus) error {
	if a.output != "table" {
		return a.show(w, st) // the whole document, nodes included
	}
	nodes := st.Nodes
	st.Nodes = nil
	shown := st
	// The store's reachability is said once, in a sentence, below.
	shown.StoreError, shown.StoreUnreachableSince = "", time.Time{}
	if err := a.show(w, shown); err != nil {
		return err
	}
	if !st.StoreUnreachableSince.IsZero() {
		fmt.Fprintf(w, "\nstore unreachable since %s: %s (serving revision %d meanwhile)\n",
			st.StoreUnreachableSince.UTC().Format(time.RFC3339), st.StoreError, st.ActiveRevision)
	}
	if len(nodes) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nNodes")
	rows := [][]string{{"ID", "STATE", "REVISION", "LAST CONTACT", "ADMIN URL", "LISTEN", "VERSION"}}
	for _, n := range nodes {
		id := n.ID
		if n.ID == st.NodeID {
			id += " (this node)"
		}
		rows = append(rows, []string{id, n.State(), strconv.FormatInt(n.Revision, 10),
			n.LastContact.UTC().Format(time.RFC3339), n.AdminURL, n.Listen, n.Version})
	}
	return printRows(w, rows)
}
