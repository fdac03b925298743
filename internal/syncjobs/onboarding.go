package syncjobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/problem"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/gdap"
)

// GDAP onboarding is a job of kind model.SyncKindGDAPOnboarding in the
// same store as the syncs, one active per customer tenant (the store's
// one-active-job rule, with the customer's Microsoft tenant id as the
// company). Its steps run one after the other in the background; the
// record is updated before and after each step, so a failure names its
// step, and a job whose record stops moving (a crash) is given up.

// Onboarding modes.
const (
	// ModeTemplate: publish a template (unless one is given), create its
	// security groups (unless the template's already exist), migrate the
	// customer by the template.
	ModeTemplate = "template"
	// ModeExpress: one ExpressTransition call doing all of it at the vendor.
	ModeExpress = "express"
)

// Onboarding step names and states.
const (
	StepPublishTemplate      = "publish_template"
	StepCreateSecurityGroups = "create_security_groups"
	StepMigrateCustomer      = "migrate_customer"
	StepExpressTransition    = "express_transition"

	StepPending   = "pending"
	StepRunning   = "running"
	StepSucceeded = "succeeded"
	StepFailed    = "failed"
	StepSkipped   = "skipped"
	// StepNotRun: an earlier step failed, so this one was never sent.
	StepNotRun = "not_run"
)

// OnboardingGDAP is the part of the GDAP client onboarding needs.
type OnboardingGDAP interface {
	AvailableRoles(ctx context.Context) ([]model.Role, error)
	PublishTemplate(ctx context.Context, req gdap.TemplateRequest) (gdap.TemplateResult, error)
	CreateSecurityGroups(ctx context.Context, templateID, ownerID string) (gdap.SecurityGroupsResult, error)
	MigrateCustomer(ctx context.Context, templateID, customerTenantID, duration string) (gdap.MigrationResult, error)
	ExpressTransition(ctx context.Context, req gdap.ExpressRequest) (gdap.MigrationResult, error)
}

// OnboardingConfig wires an Onboardings service.
type OnboardingConfig struct {
	Store store.Store
	GDAP  OnboardingGDAP
	// StepTimeout bounds one step (default 3m: longer than the GDAP
	// client's slow timeout). A running job whose record has not moved for
	// twice as long is taken as interrupted.
	StepTimeout time.Duration
	Log         *slog.Logger
	Now         func() time.Time
}

// Onboardings starts GDAP onboarding jobs and reports them.
type Onboardings struct {
	cfg OnboardingConfig
	wg  sync.WaitGroup
}

// NewOnboardings validates cfg.
func NewOnboardings(cfg OnboardingConfig) (*Onboardings, error) {
	if cfg.Store == nil || cfg.GDAP == nil {
		return nil, errors.New("onboarding config: Store and GDAP are required")
	}
	cfg.Store = kindStore{cfg.Store}
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = 3 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Onboardings{cfg: cfg}, nil
}

// Wait blocks until every background job has stopped (tests, shutdown).
func (o *Onboardings) Wait() { o.wg.Wait() }

// OnboardingRequest asks for one customer's onboarding.
type OnboardingRequest struct {
	CustomerTenantID string
	Mode             string
	// TemplateID reuses a published template (template mode); otherwise
	// TemplateName and RoleIDs publish a new one.
	TemplateID   string
	TemplateName string
	RoleIDs      []string
	Duration     string
	// GroupOwnerID is the Entra user owning the new security groups;
	// required unless TemplateID is given (then its groups exist already
	// when it is omitted).
	GroupOwnerID string
	RequestedBy  string
	ClientID     string
	Audit        Auditor
}

// Step is one step of an onboarding job.
type Step struct {
	Name       string     `json:"name"`
	State      string     `json:"state"`
	Detail     string     `json:"detail,omitempty"`
	Error      string     `json:"error,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// OnboardingDetail is an onboarding job's own state, kept in the job's
// Detail as JSON.
type OnboardingDetail struct {
	CustomerTenantID string   `json:"customer_tenant_id"`
	Mode             string   `json:"mode"`
	TemplateID       string   `json:"template_id,omitempty"`
	TemplateName     string   `json:"template_name,omitempty"`
	RoleIDs          []string `json:"role_ids,omitempty"`
	Duration         string   `json:"duration"`
	GroupOwnerID     string   `json:"group_owner_id,omitempty"`
	Steps            []Step   `json:"steps"`
	// SecurityGroups and AssignedRoleIDs are what the vendor reported.
	SecurityGroups  []SecurityGroup `json:"security_groups,omitempty"`
	AssignedRoleIDs []string        `json:"assigned_role_ids,omitempty"`
	// FailedStep is the 1-based number of the step that failed, 0 if none.
	FailedStep int `json:"failed_step,omitempty"`
}

// SecurityGroup is one security group line the vendor reported.
type SecurityGroup struct {
	Succeeded bool   `json:"succeeded"`
	GroupID   string `json:"group_id,omitempty"`
	Text      string `json:"text"`
}

// Onboarding is a job with its decoded detail.
type Onboarding struct {
	Job    store.SyncJob
	Detail OnboardingDetail
}

// OnboardingResult is a job with the vendor calls behind the answer.
type OnboardingResult struct {
	Onboarding
	Sources  []aggregate.Source
	Complete bool
}

// ParseOnboarding decodes a job record of kind gdap_onboarding.
func ParseOnboarding(j store.SyncJob) (Onboarding, error) {
	o := Onboarding{Job: j}
	if j.Kind != model.SyncKindGDAPOnboarding {
		return o, ErrNotFound
	}
	if err := json.Unmarshal([]byte(j.Detail), &o.Detail); err != nil {
		return o, fmt.Errorf("onboarding %s: unreadable detail: %w", j.ID, err)
	}
	return o, nil
}

var durationRE = regexp.MustCompile(`^P(?:(\d{1,4})Y)?(?:(\d{1,4})M)?(?:(\d{1,4})W)?(?:(\d{1,4})D)?$`)

// ValidDuration reports whether d is an ISO 8601 duration GDAP accepts:
// whole years, months, weeks or days from P1D to P2Y (730 days).
func ValidDuration(d string) bool {
	m := durationRE.FindStringSubmatch(d)
	if m == nil || d == "P" {
		return false
	}
	days := 0
	for i, per := range []int{365, 30, 7, 1} {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			days += n * per
		}
	}
	return days >= 1 && days <= 730
}

// RoleError: role ids GDAP does not offer (checked against
// GetAvailableRoles before any change at the vendor).
type RoleError struct{ Unknown []string }

func (e *RoleError) Error() string {
	return "onboarding: GDAP does not offer the roles " + strings.Join(e.Unknown, ", ")
}

// CheckRoles validates role ids locally (GUIDs, no duplicates, 1..50),
// reporting mistakes under field.
func CheckRoles(field string, ids []string) ([]string, []FieldError) {
	var fields []FieldError
	if len(ids) == 0 {
		return nil, []FieldError{{field, problem.CodeTooFew, "must name at least one role id (see GET /v1/roles)"}}
	}
	if len(ids) > 50 {
		fields = append(fields, FieldError{field, problem.CodeTooMany, "must name at most 50 roles"})
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.ToLower(strings.TrimSpace(id))
		switch {
		case !guidRE.MatchString(id):
			fields = append(fields, FieldError{field, problem.CodeInvalidFormat, fmt.Sprintf("%q is not a role id (a GUID)", id)})
		case slices.Contains(out, id):
			fields = append(fields, FieldError{field, problem.CodeDuplicate, fmt.Sprintf("%s is named twice", id)})
		default:
			out = append(out, id)
		}
	}
	return out, fields
}

// ResolveRoles turns role ids into GDAP's roles, calling GetAvailableRoles;
// a *RoleError names ids GDAP does not offer.
func ResolveRoles(ctx context.Context, g OnboardingGDAP, ids []string) ([]model.Role, aggregate.Source, error) {
	avail, src, err := aggregate.One(ctx, model.VendorGDAP, g.AvailableRoles)
	if err != nil {
		return nil, src, err
	}
	var (
		out     []model.Role
		unknown []string
	)
	for _, id := range ids {
		i := slices.IndexFunc(avail, func(r model.Role) bool { return strings.EqualFold(r.ID, id) })
		if i < 0 {
			unknown = append(unknown, id)
			continue
		}
		out = append(out, avail[i])
	}
	if len(unknown) > 0 {
		return nil, src, &RoleError{Unknown: unknown}
	}
	return out, src, nil
}

func (o *Onboardings) now() time.Time { return o.cfg.Now().UTC().Truncate(time.Microsecond) }

// Validate reports every mistake in req that can be found without a
// vendor (a *ValidationError), recording and calling nothing. Start checks
// the same, and then the roles with GDAP.
func (o *Onboardings) Validate(req OnboardingRequest) error {
	_, _, err := o.normalize(req)
	return err
}

// normalize checks req and builds the job's detail (no vendor call).
func (o *Onboardings) normalize(req OnboardingRequest) (OnboardingDetail, string, error) {
	var fields []FieldError
	fail := func(field, code, msg string) { fields = append(fields, FieldError{field, code, msg}) }
	customer := strings.ToLower(strings.TrimSpace(req.CustomerTenantID))
	if !guidRE.MatchString(customer) {
		fail("customer_tenant_id", problem.CodeInvalidFormat, "must be the customer's Microsoft tenant id (a GUID)")
	}
	d := OnboardingDetail{Mode: req.Mode, Duration: strings.TrimSpace(req.Duration), TemplateName: strings.TrimSpace(req.TemplateName)}
	if !ValidDuration(d.Duration) {
		fail("duration", problem.CodeInvalidFormat, "must be an ISO 8601 duration from P1D to P2Y, such as P730D or P2Y")
	}
	tpl := strings.ToLower(strings.TrimSpace(req.TemplateID))
	owner := strings.ToLower(strings.TrimSpace(req.GroupOwnerID))
	if owner != "" && !guidRE.MatchString(owner) {
		fail("group_owner_id", problem.CodeInvalidFormat, "must be the Entra object id (a GUID) of the user who will own the security groups")
	}
	switch req.Mode {
	case ModeTemplate:
		if tpl != "" {
			if !guidRE.MatchString(tpl) {
				fail("template_id", problem.CodeInvalidFormat, "must be a template id (a GUID) as POST /v1/gdap/templates returned it")
			}
			if len(req.RoleIDs) > 0 || d.TemplateName != "" {
				fail("role_ids", problem.CodeInvalidCombination, "must be omitted with template_id: the template holds the roles")
			}
			d.TemplateID = tpl
		} else {
			ids, fe := CheckRoles("role_ids", req.RoleIDs)
			fields, d.RoleIDs = append(fields, fe...), ids
			if d.TemplateName == "" || len(d.TemplateName) > 100 {
				fail("template_name", problem.CodeRequired, "is required to publish a new template (1 to 100 characters)")
			}
			if owner == "" {
				fail("group_owner_id", problem.CodeRequired, "is required to create the new template's security groups")
			}
		}
		d.GroupOwnerID = owner
		d.Steps = []Step{{Name: StepPublishTemplate, State: StepPending}, {Name: StepCreateSecurityGroups, State: StepPending},
			{Name: StepMigrateCustomer, State: StepPending}}
		if tpl != "" {
			d.Steps[0].State, d.Steps[0].Detail = StepSkipped, "template given"
			if owner == "" {
				d.Steps[1].State, d.Steps[1].Detail = StepSkipped, "no group owner given: the template's groups exist"
			}
		}
	case ModeExpress:
		ids, fe := CheckRoles("role_ids", req.RoleIDs)
		fields, d.RoleIDs = append(fields, fe...), ids
		if tpl != "" || owner != "" || d.TemplateName != "" {
			fail("mode", problem.CodeInvalidCombination, "express takes customer_tenant_id, role_ids and duration only")
		}
		d.Steps = []Step{{Name: StepExpressTransition, State: StepPending}}
	case "":
		fail("mode", problem.CodeRequired, "is required; one of template, express")
	default:
		fail("mode", problem.CodeInvalidChoice, "must be one of template, express")
	}
	if len(fields) > 0 {
		return d, "", &ValidationError{Fields: fields}
	}
	d.CustomerTenantID = customer
	return d, customer, nil
}

// Start validates req, checks its roles against GetAvailableRoles, records
// the job (one active per customer: *ConflictError otherwise), audits it
// and starts its steps in the background. The returned job is running.
func (o *Onboardings) Start(ctx context.Context, req OnboardingRequest) (OnboardingResult, error) {
	d, customer, err := o.normalize(req)
	if err != nil {
		return OnboardingResult{}, err
	}
	var (
		roles   []model.Role
		sources = []aggregate.Source{}
	)
	if len(d.RoleIDs) > 0 {
		var src aggregate.Source
		roles, src, err = ResolveRoles(ctx, o.cfg.GDAP, d.RoleIDs)
		sources = append(sources, src)
		if err != nil {
			return OnboardingResult{Sources: sources}, err
		}
	}
	now := o.now()
	raw, _ := json.Marshal(d)
	j := store.SyncJob{ID: newID(), Kind: model.SyncKindGDAPOnboarding, CompanyID: customer, State: model.SyncPending,
		RequestedBy: clip(req.RequestedBy, 200), ClientID: clip(req.ClientID, 200), CreatedAt: now, UpdatedAt: now, Detail: string(raw)}
	if j, err = o.create(ctx, j); err != nil {
		return OnboardingResult{Sources: sources}, err
	}
	ob := Onboarding{Job: j, Detail: d}
	var audit AuditRecord
	if req.Audit != nil {
		if audit, err = req.Audit.Begin(ctx, j); err != nil {
			ob.Job.State, ob.Job.LastError, ob.Job.FinishedAt = model.SyncFailed, "not sent to the vendor: "+err.Error(), &now
			_ = o.save(ctx, &ob)
			return OnboardingResult{}, err
		}
	}
	ob.Job.State = model.SyncRunning
	if err := o.save(ctx, &ob); err != nil {
		if audit != nil {
			audit.Finish(aggregate.Source{Vendor: model.VendorGDAP, Status: upstream.StatusOK}, err)
		}
		return OnboardingResult{}, fmt.Errorf("%w: starting the job: %w", ErrStore, err)
	}
	// The background run owns its own copy of the steps; the answer keeps ob.
	bg := ob
	bg.Detail.Steps = slices.Clone(ob.Detail.Steps)
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		o.run(bg, roles, audit)
	}()
	return OnboardingResult{Onboarding: ob, Sources: sources, Complete: true}, nil
}

// create records j; an interrupted blocker is given up once.
func (o *Onboardings) create(ctx context.Context, j store.SyncJob) (store.SyncJob, error) {
	for attempt := 0; ; attempt++ {
		created, err := o.cfg.Store.CreateSyncJob(ctx, j)
		if err == nil {
			return created, nil
		}
		if !errors.Is(err, store.ErrSyncRunning) {
			return j, fmt.Errorf("%w: recording the job: %w", ErrStore, err)
		}
		var active store.SyncJob
		for _, state := range []string{model.SyncPending, model.SyncRunning} {
			jobs, ferr := o.cfg.Store.ListSyncJobs(ctx, store.SyncJobFilter{Kinds: []string{j.Kind}, CompanyID: j.CompanyID, States: []string{state}, Limit: 1})
			if ferr != nil {
				return j, fmt.Errorf("%w: reading the active job: %w", ErrStore, ferr)
			}
			if len(jobs) > 0 {
				active = jobs[0]
			}
		}
		if attempt > 0 || (active.ID != "" && !o.stale(active)) {
			return j, &ConflictError{Active: active}
		}
		if active.ID != "" {
			if err := o.giveUp(ctx, active); err != nil {
				return j, err
			}
		}
	}
}

// stale: active, but its record has not moved for longer than two steps
// can take, so whoever ran it is gone.
func (o *Onboardings) stale(j store.SyncJob) bool {
	return store.Active(j.State) && o.now().Sub(j.UpdatedAt) > 2*o.cfg.StepTimeout
}

func (o *Onboardings) giveUp(ctx context.Context, j store.SyncJob) error {
	ob, err := ParseOnboarding(j)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	now := o.now()
	ob.Job.State, ob.Job.FinishedAt = model.SyncFailed, &now
	msg := "the job was interrupted (the gateway stopped) before it finished"
	for i := range ob.Detail.Steps {
		s := &ob.Detail.Steps[i]
		switch s.State {
		case StepRunning:
			s.State, s.Error = StepFailed, "interrupted; the vendor may have completed this step"
			ob.Detail.FailedStep = i + 1
			msg = fmt.Sprintf("step %d (%s) was interrupted; the vendor may have completed it", i+1, s.Name)
		case StepPending:
			s.State = StepNotRun
		}
	}
	ob.Job.LastError = msg
	if err := o.save(ctx, &ob); err != nil {
		return fmt.Errorf("%w: giving up an interrupted job: %w", ErrStore, err)
	}
	return nil
}

// save writes the job with its detail.
func (o *Onboardings) save(ctx context.Context, ob *Onboarding) error {
	raw, err := json.Marshal(ob.Detail)
	if err != nil {
		return err
	}
	ob.Job.Detail, ob.Job.UpdatedAt = string(raw), o.now()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return o.cfg.Store.UpdateSyncJob(ctx, ob.Job)
}

// run executes the steps in order; the first failure fails the job, names
// its step and leaves the later ones not run.
func (o *Onboardings) run(ob Onboarding, roles []model.Role, audit AuditRecord) {
	ctx := context.Background()
	var (
		last aggregate.Source
		err  error
	)
	for i := range ob.Detail.Steps {
		s := &ob.Detail.Steps[i]
		if s.State == StepSkipped {
			continue
		}
		started := o.now()
		s.State, s.StartedAt = StepRunning, &started
		if serr := o.save(ctx, &ob); serr != nil {
			o.cfg.Log.Error("onboarding step could not be recorded; not sent", "job_id", ob.Job.ID, "step", s.Name, "error", serr)
			err, last = fmt.Errorf("%w: recording step %d: %w", ErrStore, i+1, serr), aggregate.Source{Vendor: model.VendorGDAP, Status: upstream.StatusOK}
			s.State, s.Error = StepNotRun, "not sent: the job store failed"
			ob.Detail.FailedStep = i + 1
			break
		}
		stepCtx, cancel := context.WithTimeout(ctx, o.cfg.StepTimeout)
		last, err = o.step(stepCtx, &ob.Detail, s.Name, roles)
		cancel()
		fin := o.now()
		s.FinishedAt = &fin
		if err != nil {
			s.State, s.Error = StepFailed, upstream.Detail(err)
			ob.Detail.FailedStep = i + 1
			break
		}
		s.State = StepSucceeded
	}
	now := o.now()
	ob.Job.FinishedAt = &now
	ob.Job.State = model.SyncSucceeded
	if err != nil {
		ob.Job.State = model.SyncFailed
		n := ob.Detail.FailedStep
		ob.Job.LastError = fmt.Sprintf("step %d (%s) failed: %s", n, ob.Detail.Steps[n-1].Name, ob.Detail.Steps[n-1].Error)
		if last.Status == upstream.StatusTimeout {
			ob.Job.LastError += "; the vendor may have completed it anyway"
		}
		for i := n; i < len(ob.Detail.Steps); i++ {
			if ob.Detail.Steps[i].State == StepPending {
				ob.Detail.Steps[i].State = StepNotRun
			}
		}
	}
	if serr := o.save(ctx, &ob); serr != nil {
		o.cfg.Log.Error("onboarding outcome could not be recorded", "job_id", ob.Job.ID, "state", ob.Job.State, "error", serr)
	}
	if audit != nil {
		audit.Finish(last, err)
	}
	o.cfg.Log.Info("gdap onboarding finished", "job_id", ob.Job.ID, "customer_tenant_id", ob.Job.CompanyID,
		"state", ob.Job.State, "failed_step", ob.Detail.FailedStep)
}

// step sends one step to GDAP and records what it reported in d.
func (o *Onboardings) step(ctx context.Context, d *OnboardingDetail, name string, roles []model.Role) (aggregate.Source, error) {
	g := o.cfg.GDAP
	switch name {
	case StepPublishTemplate:
		res, src, err := aggregate.One(ctx, model.VendorGDAP, func(ctx context.Context) (gdap.TemplateResult, error) {
			return g.PublishTemplate(ctx, gdap.TemplateRequest{Name: d.TemplateName, Roles: roles, Duration: d.Duration})
		})
		if err == nil {
			d.TemplateID = res.TemplateID
			d.Steps[0].Detail = clip(res.Message, 500)
		}
		return src, err
	case StepCreateSecurityGroups:
		res, src, err := aggregate.One(ctx, model.VendorGDAP, func(ctx context.Context) (gdap.SecurityGroupsResult, error) {
			return g.CreateSecurityGroups(ctx, d.TemplateID, d.GroupOwnerID)
		})
		if err == nil {
			for _, sg := range res.Groups {
				d.SecurityGroups = append(d.SecurityGroups, SecurityGroup{Succeeded: sg.Succeeded, GroupID: sg.GroupID, Text: clip(sg.Text, 300)})
			}
			d.Steps[1].Detail = clip(strings.Join(res.Messages, "; "), 500)
		}
		return src, err
	case StepMigrateCustomer, StepExpressTransition:
		res, src, err := aggregate.One(ctx, model.VendorGDAP, func(ctx context.Context) (gdap.MigrationResult, error) {
			if name == StepExpressTransition {
				return g.ExpressTransition(ctx, gdap.ExpressRequest{CustomerTenantID: o.customer(d), Roles: roles, Duration: d.Duration})
			}
			return g.MigrateCustomer(ctx, d.TemplateID, o.customer(d), d.Duration)
		})
		if err == nil {
			d.AssignedRoleIDs = res.AssignedRoleIDs
			d.Steps[len(d.Steps)-1].Detail = clip(strings.Join(res.Messages, "; "), 500)
		}
		return src, err
	}
	return aggregate.Source{}, fmt.Errorf("onboarding: unknown step %q", name)
}

func (o *Onboardings) customer(d *OnboardingDetail) string { return d.CustomerTenantID }

// Get returns one onboarding job; a stale running job is given up first.
func (o *Onboardings) Get(ctx context.Context, id string) (Onboarding, error) {
	j, err := o.cfg.Store.SyncJob(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Onboarding{}, ErrNotFound
	case err != nil:
		return Onboarding{}, fmt.Errorf("%w: reading the job: %w", ErrStore, err)
	}
	if j.Kind != model.SyncKindGDAPOnboarding {
		return Onboarding{}, ErrNotFound
	}
	if o.stale(j) {
		if err := o.giveUp(ctx, j); err != nil {
			return Onboarding{}, err
		}
		if j, err = o.cfg.Store.SyncJob(ctx, id); err != nil {
			return Onboarding{}, fmt.Errorf("%w: reading the job: %w", ErrStore, err)
		}
	}
	ob, err := ParseOnboarding(j)
	if err != nil {
		return Onboarding{}, fmt.Errorf("%w: %w", ErrStore, err)
	}
	return ob, nil
}
