package bokamerasim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%d body %q is not a JSON object", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	return resp.StatusCode, m
}

func tokenReq(t *testing.T, base string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, TokenURL(base), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

func TestTokenEndpointErrors(t *testing.T) {
	_, base := newTestServer(t, Options{})
	for _, tc := range []struct {
		form   url.Values
		status int
		code   string
	}{
		{url.Values{"client_id": {DefaultClientID}}, 400, "invalid_request"},
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}}, 400, "unsupported_grant_type"},
		{url.Values{"grant_type": {"password"}, "client_id": {"x"}, "username": {DefaultUsername}, "password": {DefaultPassword}}, 401, "invalid_client"},
		{url.Values{"grant_type": {"password"}, "client_id": {DefaultClientID}, "username": {DefaultUsername}, "password": {"no"}}, 401, "invalid_grant"},
		{url.Values{"grant_type": {"refresh_token"}, "client_id": {DefaultClientID}, "refresh_token": {"forged"}}, 400, "invalid_grant"},
	} {
		status, body := tokenReq(t, base, tc.form)
		if status != tc.status || body["error"] != tc.code || body["error_description"] == "" {
			t.Errorf("%v: got %d %v, want %d %s", tc.form, status, body, tc.status, tc.code)
		}
	}
	status, body := tokenReq(t, base, url.Values{"grant_type": {"password"}, "client_id": {DefaultClientID},
		"username": {strings.ToUpper(DefaultUsername)}, "password": {DefaultPassword}})
	if status != 200 || body["token_type"] != "Bearer" || body["expires_in"] != 300.0 || body["refresh_expires_in"] != 1800.0 {
		t.Fatalf("login: %d %v", status, body)
	}
}

func TestAPIAuthAndRouting(t *testing.T) {
	_, base := newTestServer(t, Options{MaxTake: 2})
	_, tok := tokenReq(t, base, url.Values{"grant_type": {"password"}, "client_id": {DefaultClientID},
		"username": {DefaultUsername}, "password": {DefaultPassword}})
	get := func(path, key, bearer string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if key != "" {
			req.Header.Set("x-api-key", key)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		return do(t, req)
	}
	code := func(m map[string]any) any { rs, _ := m["ResponseStatus"].(map[string]any); return rs["ErrorCode"] }
	at := tok["access_token"].(string)

	if s, b := get("customers", "", at); s != 401 || code(b) != "Unauthorized" {
		t.Errorf("no api key: %d %v", s, b)
	}
	if s, b := get("customers", DefaultAPIKey, ""); s != 401 || code(b) != "Unauthorized" {
		t.Errorf("no bearer: %d %v", s, b)
	}
	if s, b := get("nope", DefaultAPIKey, at); s != 404 || code(b) != "NotFound" {
		t.Errorf("unknown path: %d %v", s, b)
	}
	// ServiceStack binds query names case-insensitively; Take is capped.
	s, b := get("customers?search=SE&take=50&skip=1", DefaultAPIKey, at)
	if s != 200 || b["Offset"] != 1.0 || b["Total"] != 3.0 || len(b["Results"].([]any)) != 2 || b["ResponseStatus"] != nil {
		t.Errorf("customers: %d %v", s, b)
	}
	if first := b["Results"].([]any)[0].(map[string]any); first["Firstname"] != "Per" {
		t.Errorf("item %v, want Firstname casing and seed order", first)
	}
	if s, b := get("codelock/axema/usersync?Status=Completed", DefaultAPIKey, at); s != 200 || len(b["Results"].([]any)) != 0 {
		t.Errorf("query by status name: %d %v", s, b)
	}
	if s, b := get("codelock/axema/usersync?Status=9", DefaultAPIKey, at); s != 400 || code(b) != "RequestBindingException" {
		t.Errorf("bad status: %d %v", s, b)
	}
}
