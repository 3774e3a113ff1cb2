package sim

import "net/http"

// handleGetFields answers GET /api/users/getFields from the project's type
// locks: every field path (nested ones dotted) with the type its first value
// fixed, as Iterable's GetUserFieldsResponse {"fields": {path: type}}.
func (s *Server) handleGetFields(w http.ResponseWriter, _ *http.Request, rec *Request) {
	s.mu.Lock()
	fields := copySchema(s.st.schema)
	s.mu.Unlock()
	s.writeJSON(w, rec, http.StatusOK, map[string]any{"fields": fields})
}
