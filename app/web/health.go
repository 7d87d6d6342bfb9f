package web

import (
	"encoding/json"
	"net/http"

	"minebrain/app/engine"
)

// health is the /api/health body: the server answers, and how its connections are.
type health struct {
	OK     bool          `json:"ok"`
	Status engine.Status `json:"status"`
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(health{OK: true, Status: s.e.Status()})
}
