package dbsync

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/dbsync/dbsyncsim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simtest"
	"github.com/prometheus/client_golang/prometheus"
)

func newUp(t *testing.T) *upstream.Client {
	t.Helper()
	metrics, err := upstream.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	up, err := upstream.New(upstream.Config{Vendor: model.VendorDBSync, Timeout: 2 * time.Second}, metrics, nil)
	if err != nil {
		t.Fatal(err)
	}
	return up
}

func newClient(t *testing.T, opts dbsyncsim.Options) (*Client, *dbsyncsim.Server) {
	t.Helper()
	sim, base := simtest.DBSync(t, opts)
	c, err := New(newUp(t), Config{BaseURL: base, AppKey: dbsyncsim.DefaultAppKey, AppToken: dbsyncsim.DefaultAppToken})
	if err != nil {
		t.Fatal(err)
	}
	return c, sim
}

// vendorErr asserts err is a *upstream.Error of the given kind.
func vendorErr(t *testing.T, err error, op string, status int, code string, kind error) *upstream.Error {
	t.Helper()
	var e *upstream.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *upstream.Error", err, err)
	}
	if e.Vendor != model.VendorDBSync || e.Op != op || e.Status != status || e.Code != code {
		t.Errorf("err = vendor %q op %q status %d code %q, want dbsync %q %d %q", e.Vendor, e.Op, e.Status, e.Code, op, status, code)
	}
	if kind == nil && e.Err != nil || kind != nil && !errors.Is(err, kind) {
		t.Errorf("err kind = %v, want %v", e.Err, kind)
	}
	return e
}

func TestNewReportsAllConfigProblems(t *testing.T) {
	_, err := New(nil, Config{BaseURL: "staging.mydbsync.com/partner"})
	for _, want := range []string{"upstream client", "absolute http(s)", "app key", "app token"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New error %v does not mention %q", err, want)
		}
	}
	for _, base := range []string{"", "ftp://h/p/", "http://h/appcode/v2/partner", "http://h/p/?x=1"} {
		if _, err := New(newUp(t), Config{BaseURL: base, AppKey: "k", AppToken: "t"}); err == nil {
			t.Errorf("New accepted base URL %q", base)
		}
	}
}

func TestRegisterSendsDocumentedRequest(t *testing.T) {
	c, sim := newClient(t, dbsyncsim.Options{})
	got, err := c.RegisterUser(context.Background(), "Fabrikam Oy", "aino@fabrikam.fi")
	if err != nil {
		t.Fatal(err)
	}
	// Fabrikam exists from the seed; the user is the fifth registered.
	want := model.License{Company: "Fabrikam Oy", User: "aino@fabrikam.fi", CompanyID: "9878", UserID: "5777", ID: "5777"}
	if got != want {
		t.Errorf("license = %+v, want %+v", got, want)
	}

	req := sim.LastRequest()
	if req.Method != http.MethodPost || req.Path != dbsyncsim.BasePath+"registerUser" {
		t.Errorf("request = %s %s", req.Method, req.Path)
	}
	if ct, acc := req.Header.Get("Content-Type"), req.Header.Get("Accept"); ct != "application/json" || acc != "application/json" {
		t.Errorf("Content-Type %q Accept %q, want application/json", ct, acc)
	}
	if h := req.Header.Get("Authorization"); h != "" {
		t.Errorf("unexpected Authorization header %q", h)
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]any{
		"partnerAppKey": dbsyncsim.DefaultAppKey, "partnerAppToken": dbsyncsim.DefaultAppToken,
		"endUserCompany": "Fabrikam Oy", "endUserName": "aino@fabrikam.fi",
	}
	if !reflect.DeepEqual(body, wantBody) {
		t.Errorf("body = %v, want %v", body, wantBody)
	}
}

func TestLicenceLifecycleKeepsAnnualQuotaUsed(t *testing.T) {
	ctx := context.Background()
	c, sim := newClient(t, dbsyncsim.Options{})
	const co, user = "Proseware AB", "lena@proseware.se"

	if _, err := c.RegisterUser(ctx, co, user); err != nil {
		t.Fatal(err)
	}
	check, err := c.AuthenticateUser(ctx, co, user)
	if err != nil || !check.Licensed || check.UserID == "" {
		t.Fatalf("after register: %+v, %v; want licensed", check, err)
	}
	if _, err := c.UnregisterUser(ctx, co, user); err != nil {
		t.Fatal(err)
	}
	check, err = c.AuthenticateUser(ctx, co, user)
	if err != nil || check.Licensed {
		t.Fatalf("after unregister: %+v, %v; want known but not licensed", check, err)
	}
	d, err := c.LicenseDetails(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	// 4 seeded + 1 registered consumed; unregistering gave no seat back.
	if want := (Quota{AnnualQuota: 25, Used: 5, Active: 4}); d.Quota == nil || *d.Quota != want {
		t.Errorf("quota = %+v, want %+v", d.Quota, want)
	}
	if len(d.Users) != 4 {
		t.Errorf("users = %+v, want the 4 seeded", d.Users)
	}
	// licenseDetails may omit endUserName.
	var body map[string]any
	_ = json.Unmarshal(sim.LastRequest().Body, &body)
	if v, ok := body["endUserName"]; !ok || v != "" {
		t.Errorf("licenseDetails endUserName = %v (sent %v), want empty string sent", v, ok)
	}
}

func TestLicenseDetailsFiltersByCompany(t *testing.T) {
	c, _ := newClient(t, dbsyncsim.Options{})
	d, err := c.LicenseDetails(context.Background(), "Contoso AB")
	if err != nil {
		t.Fatal(err)
	}
	want := []model.License{
		{Company: "Contoso AB", User: "anna.lindqvist@contoso.se", CompanyID: "9877", UserID: "5773", ID: "5773"},
		{Company: "Contoso AB", User: "per.ek@contoso.se", CompanyID: "9877", UserID: "5774", ID: "5774"},
	}
	if !reflect.DeepEqual(d.Users, want) {
		t.Errorf("users = %+v, want %+v", d.Users, want)
	}
	d, err = c.LicenseDetails(context.Background(), "Nobody Ltd")
	if err != nil || len(d.Users) != 0 || d.Quota == nil {
		t.Errorf("unknown company: %+v, %v; want no users and a quota", d, err)
	}
}

func TestErrorMessagesBecomeTypedErrors(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t, dbsyncsim.Options{AnnualQuota: 5}) // 4 seats used by the seed
	if _, err := c.RegisterUser(ctx, "Fabrikam Oy", "fifth@fabrikam.fi"); err != nil {
		t.Fatal(err)
	}
	_, sim2Base := simtest.DBSync(t, dbsyncsim.Options{})
	wrongKey, err := New(newUp(t), Config{BaseURL: sim2Base, AppKey: "wrong-key", AppToken: dbsyncsim.DefaultAppToken})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		call     func() error
		op, code string
		kind     error
		message  string
	}{
		{"wrong key", func() error { _, err := wrongKey.AuthenticateUser(ctx, "Contoso AB", "per.ek@contoso.se"); return err },
			"authenticate_user", "invalid_credentials", upstream.ErrCredentials, "Invalid partnerAppKey or partnerAppToken"},
		{"already registered", func() error { _, err := c.RegisterUser(ctx, "Contoso AB", "per.ek@contoso.se"); return err },
			"register_user", "already_registered", upstream.ErrConflict, "User already registered: per.ek@contoso.se"},
		{"quota exhausted", func() error { _, err := c.RegisterUser(ctx, "Contoso AB", "new@contoso.se"); return err },
			"register_user", "quota_exhausted", upstream.ErrRejected, "Annual licensed user quota exhausted (5 of 5 used)"},
		{"unknown user", func() error { _, err := c.AuthenticateUser(ctx, "Contoso AB", "ghost@contoso.se"); return err },
			"authenticate_user", "user_not_found", upstream.ErrNotFound, "User not found: ghost@contoso.se"},
		{"user of another company", func() error { _, err := c.UnregisterUser(ctx, "Fabrikam Oy", "per.ek@contoso.se"); return err },
			"unregister_user", "user_not_found", upstream.ErrNotFound, "User not found: per.ek@contoso.se"},
		{"missing fields", func() error { _, err := c.RegisterUser(ctx, "", ""); return err },
			"register_user", "missing_field", upstream.ErrRejected, "endUserCompany is required; endUserName is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := vendorErr(t, tt.call(), tt.op, http.StatusOK, tt.code, tt.kind)
			if e.Message != tt.message {
				t.Errorf("message = %q, want %q", e.Message, tt.message)
			}
		})
	}
}

func TestUnregisterTwiceIsNotFound(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t, dbsyncsim.Options{})
	if _, err := c.UnregisterUser(ctx, "Contoso AB", "per.ek@contoso.se"); err != nil {
		t.Fatal(err)
	}
	_, err := c.UnregisterUser(ctx, "Contoso AB", "per.ek@contoso.se")
	_ = vendorErr(t, err, "unregister_user", http.StatusOK, "user_not_found", upstream.ErrNotFound)
}

func TestClassifyToleratesWording(t *testing.T) {
	c := &Client{cfg: Config{AppKey: "k3y-secret", AppToken: "t0ken-secret"}}
	tests := []struct {
		msgs []string
		code string
		kind error
	}{
		{[]string{"PartnerAppToken is invalid"}, "invalid_credentials", upstream.ErrCredentials},
		{[]string{"Invalid App Key"}, "invalid_credentials", upstream.ErrCredentials},
		{[]string{"User with this name already exists"}, "already_registered", upstream.ErrConflict},
		{[]string{"Licensed user QUOTA reached for this year"}, "quota_exhausted", upstream.ErrRejected},
		{[]string{"No such user"}, "user_not_found", upstream.ErrNotFound},
		{[]string{"user does not exist"}, "user_not_found", upstream.ErrNotFound},
		{[]string{"Internal processing error"}, "rejected", upstream.ErrRejected},
		// Credentials outrank whatever else the vendor lists.
		{[]string{"User not found: x", "Invalid partnerAppKey"}, "invalid_credentials", upstream.ErrCredentials},
		// The user's own name must not steer the classification.
		{[]string{"User not found: quota.manager@x.com"}, "user_not_found", upstream.ErrNotFound},
	}
	for _, tt := range tests {
		e := c.vendorError(tt.msgs, "X Ltd", "quota.manager@x.com")
		if e.Code != tt.code || !errors.Is(e, tt.kind) || e.Status != http.StatusOK {
			t.Errorf("%q → %q %v %d, want %q %v 200", tt.msgs, e.Code, e.Err, e.Status, tt.code, tt.kind)
		}
	}
	e := c.vendorError([]string{"Invalid partnerAppKey k3y-secret / t0ken-secret"}, "", "")
	if strings.Contains(e.Message, "secret") {
		t.Errorf("message leaks credentials: %q", e.Message)
	}
}

func TestInjectedServerErrorIsTransportFailure(t *testing.T) {
	c, sim := newClient(t, dbsyncsim.Options{})
	sim.Faults.Set(simfault.Fault{Status: http.StatusServiceUnavailable, RetryAfterSeconds: 7})
	_, err := c.RegisterUser(context.Background(), "Contoso AB", "new@contoso.se")
	e := vendorErr(t, err, "register_user", http.StatusServiceUnavailable, "http_503", nil)
	if e.Message != "HTTP Status 503 – Service Unavailable" || e.RetryAfter != 7*time.Second {
		t.Errorf("message %q retry-after %v", e.Message, e.RetryAfter)
	}
	// registerUser consumes quota, so it is never retried.
	if n := sim.Faults.Calls(http.MethodPost, dbsyncsim.BasePath+"registerUser"); n != 1 {
		t.Errorf("registerUser sent %d times, want 1", n)
	}

	sim.Faults.Set(simfault.Fault{Status: http.StatusInternalServerError})
	_, err = c.LicenseDetails(context.Background(), "")
	e = vendorErr(t, err, "license_details", http.StatusInternalServerError, "http_500", nil)
	if e.Message != "HTTP Status 500 – Internal Server Error" {
		t.Errorf("message %q", e.Message)
	}

	sim.Faults.Set(simfault.Fault{Malformed: true})
	_, err = c.AuthenticateUser(context.Background(), "Contoso AB", "per.ek@contoso.se")
	_ = vendorErr(t, err, "authenticate_user", http.StatusOK, "", upstream.ErrMalformed)
}

func TestWrongBasePathIsEndpointNotFound(t *testing.T) {
	_, base := simtest.DBSync(t, dbsyncsim.Options{})
	v1 := strings.Replace(base, "/v2/", "/v1/", 1)
	c, err := New(newUp(t), Config{BaseURL: v1, AppKey: dbsyncsim.DefaultAppKey, AppToken: dbsyncsim.DefaultAppToken})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AuthenticateUser(context.Background(), "Contoso AB", "per.ek@contoso.se")
	e := vendorErr(t, err, "authenticate_user", http.StatusNotFound, "http_404", nil)
	if e.Message != "endpoint not found; check base URL" {
		t.Errorf("message %q", e.Message)
	}
}

// stub serves one fixed body, for shapes the simulator never sends.
func stub(t *testing.T, body string) *Client {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	c, err := New(newUp(t), Config{BaseURL: ts.URL + "/partner/", AppKey: "k", AppToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuthenticateReadsAnyValidityFlag(t *testing.T) {
	const noValid = "the licence manager reports no valid licence for this user"
	tests := []struct {
		body string
		want model.LicenseCheck
	}{
		{`{"value":[{"companyId":9877,"userId":5773,"userName":"u","validLicense":false,"errorMessage":[]}]}`,
			model.LicenseCheck{Company: "C", User: "u", UserID: "5773", ID: "5773", Licensed: false, Reason: noValid}},
		{`{"value":[{"companyId":"9877","userId":"5773","userName":"u","authenticated":true,"errorMessage":[]}]}`,
			model.LicenseCheck{Company: "C", User: "u", UserID: "5773", ID: "5773", Licensed: true}},
		{`{"Value":[{"CompanyId":"9877","UserId":"5773","UserName":"u","IsLicensed":false,"ErrorMessage":[]}]}`,
			model.LicenseCheck{Company: "C", User: "u", UserID: "5773", ID: "5773", Licensed: false, Reason: noValid}},
		// No flag at all: an empty errorMessage is the success signal.
		{`{"value":[{"companyId":"9877","userId":"5773","errorMessage":[]}]}`,
			model.LicenseCheck{Company: "C", User: "u", UserID: "5773", ID: "5773", Licensed: true}},
		// An expiry date in the past, with or without a zone, is a verdict.
		{`{"value":[{"companyId":"9877","userId":"5773","userName":"u","isValid":true,"expiryDate":"2020-01-31T00:00:00","errorMessage":[]}]}`,
			model.LicenseCheck{Company: "C", User: "u", UserID: "5773", ID: "5773", Licensed: false, Reason: "the licence expired on 2020-01-31T00:00:00Z"}},
		{`{"value":[{"companyId":"9877","userId":"5773","userName":"u","validUntil":"2999-01-31T00:00:00+01:00","errorMessage":[]}]}`,
			model.LicenseCheck{Company: "C", User: "u", UserID: "5773", ID: "5773", Licensed: true}},
		// The expiry as an errorMessage: still a verdict, not a 422.
		{`{"value":[{"userName":"u","errorMessage":["License expired for user u"]}]}`,
			model.LicenseCheck{Company: "C", User: "u", Licensed: false, Reason: "License expired for user u"}},
	}
	for _, tt := range tests {
		got, err := stub(t, tt.body).AuthenticateUser(context.Background(), "C", "u")
		if err != nil || got != tt.want {
			t.Errorf("%s → %+v, %v; want %+v", tt.body, got, err, tt.want)
		}
	}
}

func TestQuotaUnderAlternativeNames(t *testing.T) {
	want := &Quota{AnnualQuota: 25, Used: 7, Active: 5}
	for _, body := range []string{
		`{"value":[],"licenseQuota":{"annualQuota":25,"used":7,"active":5}}`,
		`{"value":[],"quota":{"licensedUsers":25,"usedLicenses":7,"activeUsers":5}}`,
		`{"Value":[],"LicenseDetails":{"MaxUsers":25,"Consumed":7,"CurrentActive":5}}`,
	} {
		d, err := stub(t, body).LicenseDetails(context.Background(), "")
		if err != nil || d.Quota == nil || *d.Quota != *want {
			t.Errorf("%s → %+v, %v", body, d.Quota, err)
		}
	}
	// Numbers under names the client does not know are not guessed.
	d, err := stub(t, `{"value":[],"licenseQuota":{"seats":25}}`).LicenseDetails(context.Background(), "")
	if err != nil || d.Quota != nil {
		t.Errorf("unknown quota names → %+v, %v; want no quota", d.Quota, err)
	}
}

func TestErrorMessageAsASingleString(t *testing.T) {
	_, err := stub(t, `{"value":[{"errorMessage":"User already registered: u"}]}`).RegisterUser(context.Background(), "C", "u")
	if !errors.Is(err, upstream.ErrConflict) {
		t.Errorf("got %v, want ErrConflict", err)
	}
	if _, err := stub(t, `{"value":[{"userId":"1","errorMessage":""}]}`).RegisterUser(context.Background(), "C", "u"); err != nil {
		t.Errorf("empty string message: %v, want success", err)
	}
}

func TestCredentialMessagesAreTheGatewaysProblem(t *testing.T) {
	for _, msg := range []string{"Invalid partner application key or token", "Invalid partnerAppKey or partnerAppToken", "Partner app token expired"} {
		_, err := stub(t, `{"value":[{"errorMessage":["`+msg+`"]}]}`).AuthenticateUser(context.Background(), "C", "u")
		if !errors.Is(err, upstream.ErrCredentials) {
			t.Errorf("%q → %v; want ErrCredentials", msg, err)
		}
	}
}

func TestEmptyValueArray(t *testing.T) {
	_, err := stub(t, `{"value":[]}`).RegisterUser(context.Background(), "C", "u")
	_ = vendorErr(t, err, "register_user", http.StatusOK, "", upstream.ErrMalformed)
	_, err = stub(t, `{"result":"ok"}`).LicenseDetails(context.Background(), "")
	_ = vendorErr(t, err, "license_details", http.StatusOK, "", upstream.ErrMalformed)
	// For licenseDetails an empty list simply means nobody is licensed.
	d, err := stub(t, `{"value":[]}`).LicenseDetails(context.Background(), "")
	if err != nil || len(d.Users) != 0 || d.Quota != nil {
		t.Errorf("licenseDetails with empty value = %+v, %v", d, err)
	}
}

func TestShortNamesDoNotSteerClassification(t *testing.T) {
	c := &Client{}
	e := c.vendorError([]string{"Invalid partnerAppKey or partnerAppToken"}, "A", "b")
	if e.Code != "invalid_credentials" {
		t.Fatalf("code = %q, want invalid_credentials", e.Code)
	}
	e = c.vendorError([]string{"User already registered: quota"}, "Contoso AB", "quota")
	if e.Code != "already_registered" {
		t.Fatalf("code = %q, want already_registered", e.Code)
	}
}
