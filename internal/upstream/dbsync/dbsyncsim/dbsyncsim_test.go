package dbsyncsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, url, contentType, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestFrameworkErrorsAreHTMLPages(t *testing.T) {
	_, base := newTestServer(t, Options{})
	resp, err := http.Get(base + "registerUser")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	for _, tc := range []struct {
		path, ct, body string
		status         int
	}{
		{"registerUser", "text/plain", "{}", http.StatusUnsupportedMediaType},
		{"deleteUser", "application/json", "{}", http.StatusNotFound},
		{"registerUser", "application/json", "{not json", http.StatusBadRequest},
	} {
		resp, body := post(t, base+tc.path, tc.ct, tc.body)
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, "<title>HTTP Status") {
			t.Errorf("%s %s: %d %q %q", tc.path, tc.ct, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}

func TestLicenseDetailsWireShape(t *testing.T) {
	_, base := newTestServer(t, Options{AnnualQuota: 10})
	resp, body := post(t, base+"licenseDetails", "application/json; charset=utf-8",
		`{"partnerAppKey":"`+DefaultAppKey+`","partnerAppToken":"`+DefaultAppToken+`","endUserCompany":"Fabrikam Oy","endUserName":""}`)
	want := `{"value":[{"companyId":"9878","userId":"5775","userName":"mikko.virtanen@fabrikam.fi","companyName":"Fabrikam Oy","errorMessage":[]}],` +
		`"licenseQuota":{"annualQuota":10,"used":4,"active":4}}`
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != want {
		t.Errorf("got %d %s\nwant %s", resp.StatusCode, body, want)
	}
}

func TestBadCredentialsAnswer200WithErrorMessage(t *testing.T) {
	_, base := newTestServer(t, Options{})
	resp, body := post(t, base+"authenticateUser", "application/json",
		`{"partnerAppKey":"nope","partnerAppToken":"nope","endUserCompany":"Contoso AB","endUserName":"per.ek@contoso.se"}`)
	var env envelope
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || len(env.Value) != 1 ||
		strings.Join(env.Value[0].ErrorMessage, "|") != msgInvalidCredentials || env.Value[0].IsValid != nil {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
}
