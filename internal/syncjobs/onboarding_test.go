package syncjobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/syncjobs"
	"github.com/partnerhub/gateway/internal/upstream/gdap"
)

// fakeOnboardingGDAP answers every onboarding call at once.
type fakeOnboardingGDAP struct{ calls []string }

func (f *fakeOnboardingGDAP) AvailableRoles(context.Context) ([]model.Role, error) {
	return []model.Role{{ID: "f023fd81-a637-4b56-95fd-791ac0226033", Name: "Service support administrator"}}, nil
}

func (f *fakeOnboardingGDAP) PublishTemplate(context.Context, gdap.TemplateRequest) (gdap.TemplateResult, error) {
	f.calls = append(f.calls, "publish")
	return gdap.TemplateResult{TemplateID: "2d4dc098-a298-46ec-8a93-c969477a693d"}, nil
}

func (f *fakeOnboardingGDAP) CreateSecurityGroups(context.Context, string, string) (gdap.SecurityGroupsResult, error) {
	f.calls = append(f.calls, "groups")
	return gdap.SecurityGroupsResult{}, nil
}

func (f *fakeOnboardingGDAP) MigrateCustomer(context.Context, string, string, string) (gdap.MigrationResult, error) {
	f.calls = append(f.calls, "migrate")
	return gdap.MigrationResult{}, nil
}

func (f *fakeOnboardingGDAP) ExpressTransition(context.Context, gdap.ExpressRequest) (gdap.MigrationResult, error) {
	f.calls = append(f.calls, "express")
	return gdap.MigrationResult{}, nil
}

func TestOnboardingInterruptedMidStepIsGivenUp(t *testing.T) {
	db := newStore(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const customer = "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d05"
	// A job left running by a gateway that stopped during step 2.
	detail := `{"customer_tenant_id":"` + customer + `","mode":"template","template_name":"x","role_ids":["f023fd81-a637-4b56-95fd-791ac0226033"],"duration":"P2Y","group_owner_id":"11111111-2222-4333-8444-555555555555",` +
		`"steps":[{"name":"publish_template","state":"succeeded"},{"name":"create_security_groups","state":"running"},{"name":"migrate_customer","state":"pending"}]}`
	old := now.Add(-time.Hour)
	if _, err := db.CreateSyncJob(t.Context(), store.SyncJob{ID: "0b0f5e4c-1d2a-4b3c-8d4e-5f6a7b8c9d01", Kind: model.SyncKindGDAPOnboarding,
		CompanyID: customer, State: model.SyncRunning, RequestedBy: "admin", CreatedAt: old, UpdatedAt: old, Detail: detail}); err != nil {
		t.Fatal(err)
	}
	g := &fakeOnboardingGDAP{}
	svc, err := syncjobs.NewOnboardings(syncjobs.OnboardingConfig{Store: db, GDAP: g, StepTimeout: 10 * time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	// Twenty minutes without a move is within two steps: still running.
	patient, err := syncjobs.NewOnboardings(syncjobs.OnboardingConfig{Store: db, GDAP: g, StepTimeout: 31 * time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := patient.Get(t.Context(), "0b0f5e4c-1d2a-4b3c-8d4e-5f6a7b8c9d01"); err != nil || o.Job.State != model.SyncRunning {
		t.Fatalf("a job inside its step budget was given up: %+v %v", o.Job, err)
	}

	o, err := svc.Get(t.Context(), "0b0f5e4c-1d2a-4b3c-8d4e-5f6a7b8c9d01")
	if err != nil {
		t.Fatal(err)
	}
	if o.Job.State != model.SyncFailed || o.Detail.FailedStep != 2 || !strings.Contains(o.Job.LastError, "step 2 (create_security_groups) was interrupted") {
		t.Fatalf("job %+v detail %+v", o.Job, o.Detail)
	}
	if s := o.Detail.Steps; s[0].State != syncjobs.StepSucceeded || s[1].State != syncjobs.StepFailed || s[2].State != syncjobs.StepNotRun {
		t.Errorf("steps %+v", s)
	}
	// The customer is free again.
	res, err := svc.Start(t.Context(), syncjobs.OnboardingRequest{CustomerTenantID: customer, Mode: syncjobs.ModeExpress,
		RoleIDs: []string{"F023FD81-A637-4B56-95FD-791AC0226033"}, Duration: "P90D", RequestedBy: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	svc.Wait()
	if o, err := svc.Get(t.Context(), res.Job.ID); err != nil || o.Job.State != model.SyncSucceeded || strings.Join(g.calls, ",") != "express" {
		t.Errorf("new job %+v %v, calls %v", o.Job, err, g.calls)
	}
}

func TestValidDuration(t *testing.T) {
	for d, want := range map[string]bool{"P1D": true, "P2Y": true, "P730D": true, "P24M": true, "P1Y6M": true, "P1W": true,
		"P0D": false, "P731D": false, "P3Y": false, "P2Y1D": false, "P": false, "PT1H": false, "1D": false, "": false, "P-1D": false} {
		if got := syncjobs.ValidDuration(d); got != want {
			t.Errorf("ValidDuration(%q) = %v, want %v", d, got, want)
		}
	}
}
