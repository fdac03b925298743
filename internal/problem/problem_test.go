package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// An extension member is written beside the standard ones and can never
// replace one of them.
func TestWriteExtensions(t *testing.T) {
	p := New(http.StatusConflict, "sync-running", "Conflict", "busy")
	p.Extensions = map[string]any{"blocking_job_id": "j-1", "status": 200, "type": "x"}
	rec := httptest.NewRecorder()
	Write(rec, "r-1", p)
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if got["blocking_job_id"] != "j-1" || got["status"] != 409.0 || got["type"] != TypeBase+"sync-running" || got["instance"] != "urn:request:r-1" {
		t.Fatalf("body %s", rec.Body)
	}
	if rec.Code != http.StatusConflict {
		t.Fatalf("status %d", rec.Code)
	}
}
