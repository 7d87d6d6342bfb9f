package web

import (
	"net/http/httptest"
)

type recorded struct {
	code int
	body string
}

// httptestRecorder runs one GET through the server's handler without a network, as a page
// opened at the loopback address would.
func httptestRecorder(s *Server, path string) recorded {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:8080"+path, nil))
	return recorded{code: rec.Code, body: rec.Body.String()}
}
