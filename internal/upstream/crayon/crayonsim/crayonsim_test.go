package crayonsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// do sends one request to the simulator at base and returns status and body.
func do(t *testing.T, base, method, path, bearer string, body io.Reader, edit func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func login(t *testing.T, base, path string, form url.Values) (int, string) {
	t.Helper()
	return do(t, base, http.MethodPost, path, "", strings.NewReader(form.Encode()), func(r *http.Request) {
		r.SetBasicAuth(DefaultClientID, DefaultClientSecret)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	})
}

func goodForm() url.Values {
	return url.Values{"grant_type": {"password"}, "username": {DefaultUsername}, "password": {DefaultPassword}, "scope": {"CustomerApi"}}
}

func accessToken(t *testing.T, base string) string {
	t.Helper()
	status, body := login(t, base, "api/v1/connect/token/", goodForm())
	var tok struct {
		AccessToken string
		ExpiresIn   int
		TokenType   string
	}
	if status != 200 || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" || tok.ExpiresIn != 3600 || tok.TokenType != "Bearer" {
		t.Fatalf("token: %d %s", status, body)
	}
	return tok.AccessToken
}

func TestTokenEndpoint(t *testing.T) {
	_, base := newTestServer(t, Options{})
	const refused = `{"AccessToken":null,"IdentityToken":null,"Error":"invalid_grant","ExpiresIn":0,"TokenType":null,"RefreshToken":null}`
	for name, mutate := range map[string]func(url.Values){
		"wrong password": func(f url.Values) { f.Set("password", "nope") },
		"wrong grant":    func(f url.Values) { f.Set("grant_type", "client_credentials") },
		"wrong scope":    func(f url.Values) { f.Set("scope", "openid") },
	} {
		f := goodForm()
		mutate(f)
		if status, body := login(t, base, "api/v1/connect/token", f); status != 400 || body != refused {
			t.Errorf("%s: %d %s", name, status, body)
		}
	}
	status, body := do(t, base, http.MethodPost, "api/v1/connect/token", "", strings.NewReader(goodForm().Encode()), func(r *http.Request) {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded") // no Basic client auth
	})
	if status != 400 || body != refused {
		t.Errorf("no client auth: %d %s", status, body)
	}
	accessToken(t, base) // trailing slash accepted
}

func TestRoutingAndAuth(t *testing.T) {
	_, base := newTestServer(t, Options{})
	const invalid = `{"ErrorCode":"401 Unauthorized","Message":"Invalid token","Parameters":{},"ObjectErrors":[]}`
	if status, body := do(t, base, "GET", "api/v1/customertenants/?OrganizationId=4703", "", nil, nil); status != 401 || body != invalid {
		t.Errorf("no bearer: %d %s", status, body)
	}
	if status, body := do(t, base, "GET", "api/v1/customertenants/1001", "forged", nil, nil); status != 401 || body != invalid {
		t.Errorf("forged bearer: %d %s", status, body)
	}
	if status, _ := do(t, base, "GET", "api/v1/ping", "", nil, nil); status != 200 {
		t.Errorf("ping without auth: %d", status)
	}
	tok := accessToken(t, base)
	for _, path := range []string{
		"api/v1/CustomerTenants?organizationid=4703&pagesize=5",
		"API/V1/customertenants/?OrganizationId=4703&PageSize=5",
	} {
		status, body := do(t, base, "GET", path, tok, nil, nil)
		var col struct {
			Items     []map[string]any
			TotalHits int
		}
		if status != 200 || json.Unmarshal([]byte(body), &col) != nil || len(col.Items) != 5 || col.TotalHits != SeedTenantCount {
			t.Errorf("GET %s: %d %.200s", path, status, body)
		}
	}
	for _, path := range []string{"api/v1/customertenants/1001", "api/v1/CustomerTenants/1001/", "api/v1/customertenants/1001/Agreements/"} {
		if status, _ := do(t, base, "GET", path, tok, nil, nil); status != 200 {
			t.Errorf("GET %s: %d", path, status)
		}
	}
	for _, path := range []string{"api/v1/customertenants/424242/", "api/v1/customertenants/abc", "api/v1/nothing"} {
		if status, body := do(t, base, "GET", path, tok, nil, nil); status != 404 || body != "" {
			t.Errorf("GET %s: %d %q, want 404 with empty body", path, status, body)
		}
	}
	if status, body := do(t, base, "GET", "api/v1/customertenants/", tok, nil, nil); status != 400 || !strings.Contains(body, `"ErrorCode":"400 BadRequest"`) {
		t.Errorf("missing OrganizationId: %d %s", status, body)
	}
	if status, body := do(t, base, "DELETE", "api/v1/customertenants/1001", tok, nil, nil); status != 405 || !strings.Contains(body, `"405 MethodNotAllowed"`) {
		t.Errorf("DELETE: %d %s", status, body)
	}
}

func TestAgreementConsent(t *testing.T) {
	_, base := newTestServer(t, Options{})
	tok := accessToken(t, base)
	post := func(body string) (int, string) {
		return do(t, base, "POST", "api/v1/customertenants/1003/agreements", tok, strings.NewReader(body), func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json")
		})
	}
	status, body := post(`{"FirstName":"Ingrid","LastName":"Hansen","Email":"ingrid.hansen@northwind.no"}`)
	if status != 400 || !strings.Contains(body, `"ErrorCode":"DateAgreed"`) || !strings.Contains(body, `"ErrorCode":"AgreementType"`) {
		t.Errorf("incomplete consent: %d %s", status, body)
	}
	status, body = post(`{"FirstName":"Ingrid","LastName":"Hansen","Email":"ingrid.hansen@northwind.no","DateAgreed":"2025-01-02T03:04:05+01:00","AgreementType":1}`)
	const stored = `{"FirstName":"Ingrid","LastName":"Hansen","PhoneNumber":null,"Email":"ingrid.hansen@northwind.no","DateAgreed":"2025-01-02T02:04:05Z","AgreementType":1}`
	if status != 200 || body != stored {
		t.Errorf("consent: %d %s", status, body)
	}
	if _, body := do(t, base, "GET", "api/v1/customertenants/1003/agreements?AgreementTypeConsent=0", tok, nil, nil); body != `{"Items":[],"TotalHits":0}` {
		t.Errorf("cloud-agreement filter: %s", body)
	}
	if _, body := do(t, base, "GET", "api/v1/customertenants/1003/agreements?agreementTypeConsent=1", tok, nil, nil); body != `{"Items":[`+stored+`],"TotalHits":1}` {
		t.Errorf("MCA filter: %s", body)
	}
}
