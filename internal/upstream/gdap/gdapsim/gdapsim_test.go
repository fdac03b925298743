package gdapsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

func do(t *testing.T, method, rawURL, token string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestWireBehaviour(t *testing.T) {
	sim, base := newTestServer(t, Options{})
	p := "partnerId=" + simseed.PartnerTenantID
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		body                      string
	}{
		{"no token", "GET", "GetAvailableRoles?" + p, "", 401, "null"},
		{"wrong token", "GET", "GetAvailableRoles?" + p, "nope", 401, "null"},
		{"other partner", "GET", "GetAvailableRoles?partnerId=11111111-2222-4333-8444-555555555555", DefaultToken, 401, "null"},
		{"missing partnerId", "GET", "GetAvailableRoles", DefaultToken, 400, `"Please pass a partnerId on the query string"`},
		{"customers uses providerId", "GET", "Customers?" + p, DefaultToken, 400, `"Please pass a providerId on the query string"`},
		{"invalid email", "POST", "SynchronizePartnerCustomers?" + p + "&email=nobody", DefaultToken, 400, `"Please pass a valid email on the query string"`},
		{"wrong method", "GET", "SynchronizePartnerCustomers?" + p + "&email=a@b.se", DefaultToken, 404, ""},
		{"unknown function", "GET", "GetRelationships?" + p, DefaultToken, 404, ""},
		{"sync accepted", "POST", "SynchronizePartnerCustomers?" + p + "&email=a@b.se", DefaultToken, 200,
			`{"Result":"Accepted","Message":"Your customers will be synchronized now."}`},
		{"routes are case-insensitive", "GET", "listcustomers?providerId=" + strings.ToUpper(simseed.PartnerTenantID), DefaultToken, 200, ""},
	} {
		status, body := do(t, tc.method, base+tc.path, tc.token, nil)
		if status != tc.status || (tc.body != "" || status != 200) && body != tc.body {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, status, body, tc.status, tc.body)
		}
	}
	if got := sim.SyncRequests(); len(got) != 1 || got[0].Email != "a@b.se" {
		t.Errorf("sync requests = %+v, want only the accepted one", got)
	}
}

func TestCustomersShape(t *testing.T) {
	_, base := newTestServer(t, Options{})
	_, body := do(t, "GET", base+"Customers?providerId="+simseed.PartnerTenantID, DefaultToken, nil)
	var doc struct{ CurrentEntitiesSynced []map[string]any }
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	first := doc.CurrentEntitiesSynced[0]
	o := simseed.Orgs[0]
	if first["RowKey"] != o.TenantID || first["PartitionKey"] != simseed.PartnerTenantID || first["TenantDomain"] != o.Domain() ||
		first["Timestamp"] != nil || !strings.Contains(body, `"ETag":{}`) {
		t.Errorf("first entity = %v", first)
	}
}

func TestTokenEndpointAndFaults(t *testing.T) {
	sim, base := newTestServer(t, Options{DisableCustomersRoute: true})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID},
		"client_secret": {DefaultClientSecret}, "scope": {"api://x/.default"}}
	status, body := do(t, "POST", TokenURL(base), "", form)
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(body), &tok); status != 200 || err != nil || tok.ExpiresIn != 3600 {
		t.Fatalf("token: %d %s", status, body)
	}
	if status, _ := do(t, "GET", base+"ListCustomers?providerId="+simseed.PartnerTenantID, tok.AccessToken, nil); status != 200 {
		t.Errorf("issued token refused: %d", status)
	}
	if status, _ := do(t, "GET", base+"Customers?providerId="+simseed.PartnerTenantID, tok.AccessToken, nil); status != 404 {
		t.Errorf("disabled Customers route answered %d", status)
	}

	sim.Faults.Set(simfault.Fault{Status: 500})
	if status, body := do(t, "GET", base+"ListCustomers", "", nil); status != 500 || body != "" {
		t.Errorf("500 fault: %d %q, want empty body", status, body)
	}
	sim.Faults.Set(simfault.Fault{Status: 401})
	if status, body := do(t, "GET", base+"ListCustomers", "", nil); status != 401 || body != "null" {
		t.Errorf("401 fault: %d %q, want null", status, body)
	}
}
