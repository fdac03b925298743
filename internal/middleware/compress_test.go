package middleware

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestConditionalAnswers304AndGzipsLargeBodies(t *testing.T) {
	large := strings.Repeat(`{"name":"Contoso AB"},`, 200)
	h := Conditional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := large
		if r.URL.Path == "/small" {
			body = `{"ok":true}`
		}
		w.Header().Set("ETag", `W/"abc"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, body)
	}))
	serve := func(path string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	if rec := serve("/large", "If-None-Match", `"other", W/"abc"`); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("matching If-None-Match: %d with %d bytes", rec.Code, rec.Body.Len())
	}
	if rec := serve("/large", "If-None-Match", `"other"`); rec.Code != http.StatusOK || rec.Body.String() != large {
		t.Fatalf("other ETag: %d", rec.Code)
	}

	rec := serve("/large", "Accept-Encoding", "br, gzip")
	if rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Content-Length") != "" {
		t.Fatalf("large body not gzipped: %v", rec.Header())
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); string(got) != large {
		t.Fatal("gzipped body differs from the original")
	}
	if rec.Body.Len() >= len(large) {
		t.Fatal("gzip did not shrink the body")
	}

	if rec := serve("/small", "Accept-Encoding", "gzip"); rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != `{"ok":true}` {
		t.Fatalf("small body compressed: %v", rec.Header())
	}
	if rec := serve("/large", "Accept-Encoding", "gzip;q=0, identity"); rec.Header().Get("Content-Encoding") != "" {
		t.Fatal("gzip sent although refused with q=0")
	}
}
