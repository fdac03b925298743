package handlers

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
)

// sourced must encode exactly as the embedding structs it replaced did:
// the same bytes keep the same ETags across the change.
func TestSourcedEncodesAsEmbedding(t *testing.T) {
	src := []aggregate.Source{{Vendor: model.VendorCrayon, Status: "ok", Detail: "<b>&"}}
	tenant := model.Tenant{ID: "42", Name: "Contoso <AB>"}
	type embedded struct {
		model.Tenant
		Sources  []aggregate.Source `json:"sources"`
		Complete bool               `json:"complete"`
	}
	for _, c := range []struct {
		got  any
		want any
	}{
		{withSources(tenant, src, true), embedded{tenant, src, true}},
		{withSources(tenant, nil, false), embedded{tenant, nil, false}},
		{withSources(struct{}{}, src, true), struct {
			Sources  []aggregate.Source `json:"sources"`
			Complete bool               `json:"complete"`
		}{src, true}},
	} {
		got, err := json.Marshal(c.got)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(c.want)
		if !bytes.Equal(got, want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
	if _, err := json.Marshal(withSources([]int{1}, src, true)); err == nil || err.Error() == "" {
		t.Error("a non-object resource was given sources")
	}
}

// Lists never answer "items": null.
func TestListAnswerItemsAreNeverNull(t *testing.T) {
	b, _ := json.Marshal(newList[model.Role](nil, nil, true))
	if !bytes.Contains(b, []byte(`"items":[]`)) || bytes.Contains(b, []byte("next_page_token")) {
		t.Errorf("%s", b)
	}
}
