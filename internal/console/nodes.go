package console

import (
	"net/http"

	"github.com/certgate/certgate/internal/api"
)

// nodeRow is one node of the store as the dashboard lists it.
type nodeRow struct {
	api.ClusterNode
	// This: the row is the node serving this page.
	This bool
	// State is ClusterNode.State as a mark: text and colour.
	State mark
}

// nodeRows lists st's nodes with the flags the node computed for GET
// /v1/status (api.ClusterNode.Behind, Silent), never recomputed here.
func nodeRows(st api.NodeStatus) []nodeRow {
	rows := make([]nodeRow, 0, len(st.Nodes))
	for _, n := range st.Nodes {
		rows = append(rows, nodeRow{ClusterNode: n, This: n.ID == st.NodeID, State: nodeMark(n)})
	}
	return rows
}

func nodeMark(n api.ClusterNode) mark {
	switch s := n.State(); s {
	case api.NodeSilent:
		return mark{"bad", "✗ silent"}
	case api.NodeBehind:
		return mark{"warn", "⚠ behind"}
	case api.NodeError:
		return mark{"warn", "⚠ error"}
	default:
		return mark{"ok", "✓ " + s}
	}
}

// rotateToken replaces the admin token and shows the new one once. Every
// console session ends with the old token, this one too: the page says
// to sign in again with the new token.
func (s *server) rotateToken(w http.ResponseWriter, r *http.Request) {
	if s.opts.RotateToken == nil {
		s.notFound(w, r)
		return
	}
	token, err := s.opts.RotateToken(r.Context(), actor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if c, err := r.Cookie(CookieName); err == nil {
		s.sessions.end(c.Value)
	}
	clearCookie(w)
	s.render(w, r, http.StatusOK, "tokenrotated", &page{Title: "Admin token rotated", D: token})
}
