package simfault

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestShapeRewritesAnswersAndIsSetAtRunTime(t *testing.T) {
	in := New(func(int) (string, []byte) { return "application/json", []byte(`{"ErrorCode":"401"}`) })
	h := in.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/denied" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"ErrorCode":"401 Unauthorized"}`)
			return
		}
		_, _ = io.WriteString(w, `{"Id":"3f1c2b8e-5a4d-4c7b-9e21-6d0f8a7b1c01","Items":[{"A":1,"B":"x"}]}`)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	put := func(body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, srv.URL+ShapePath, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if _, b := get("/"); b != `{"Id":"3f1c2b8e-5a4d-4c7b-9e21-6d0f8a7b1c01","Items":[{"A":1,"B":"x"}]}` {
		t.Fatalf("no shape: %s", b)
	}
	if s := put(`{"reorder":true,"upper_guids":true,"unauthorized":"null"}`); s != 200 {
		t.Fatalf("PUT shape: %d", s)
	}
	if _, b := get("/"); b != `{"Items":[{"B":"x","A":1}],"Id":"3F1C2B8E-5A4D-4C7B-9E21-6D0F8A7B1C01"}` {
		t.Fatalf("reordered, upper-cased: %s", b)
	}
	if st, b := get("/denied"); st != 401 || b != "null" {
		t.Fatalf("401: %d %q", st, b)
	}
	in.SetShape(Shape{UnknownFields: true})
	if _, b := get("/"); !strings.Contains(b, `"SimUnknownField":"ignore me"`) || !strings.Contains(b, `"A":1`) {
		t.Fatalf("unknown fields: %s", b)
	}
	if s := put(`{"unauthorized":"sometimes"}`); s != 400 {
		t.Errorf("a bad shape was taken: %d", s)
	}
}
