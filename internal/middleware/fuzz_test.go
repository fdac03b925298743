package middleware

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

var safeID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// FuzzRequestID: whatever X-Request-Id a caller sends, the id echoed and
// used in logs is safe (it replaces an unsafe one with a fresh one).
func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"abc-123", "", "a b", "x\r\nSet-Cookie: y", "é", string(make([]byte, 65)), "../../etc"} {
		f.Add(s)
	}
	h := RequestIDMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(RequestID(r.Context())))
	}))
	f.Fuzz(func(t *testing.T, id string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header[RequestIDHeader] = []string{id}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		got := rec.Header().Get(RequestIDHeader)
		if !safeID.MatchString(got) || rec.Body.String() != got {
			t.Fatalf("incoming %q: echoed %q, context %q", id, got, rec.Body.String())
		}
		if safeID.MatchString(id) && got != id {
			t.Fatalf("a safe incoming id %q was replaced by %q", id, got)
		}
	})
}
