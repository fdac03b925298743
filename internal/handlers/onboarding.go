package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/problem"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/syncjobs"
	"github.com/partnerhub/gateway/internal/upstream/gdap"
)

// Onboarding is GDAP onboarding as the handlers need it.
type Onboarding interface {
	Validate(req syncjobs.OnboardingRequest) error
	Start(ctx context.Context, req syncjobs.OnboardingRequest) (syncjobs.OnboardingResult, error)
	Get(ctx context.Context, id string) (syncjobs.Onboarding, error)
}

// TemplateGDAP is the part of the GDAP client the template endpoints use.
type TemplateGDAP interface {
	syncjobs.OnboardingGDAP
}

func onboardingPath(id string) string { return "/v1/gdap/onboardings/" + id }

// onboardingStep is one step in the contract.
type onboardingStep struct {
	Number int `json:"number"`
	syncjobs.Step
}

// onboardingJob is an onboarding job in the contract.
type onboardingJob struct {
	ID               string                   `json:"id"`
	Kind             string                   `json:"kind"`
	CustomerTenantID string                   `json:"customer_tenant_id"`
	Mode             string                   `json:"mode"`
	State            string                   `json:"state"`
	TemplateID       string                   `json:"template_id,omitempty"`
	TemplateName     string                   `json:"template_name,omitempty"`
	RoleIDs          []string                 `json:"role_ids,omitempty"`
	Duration         string                   `json:"duration"`
	GroupOwnerID     string                   `json:"group_owner_id,omitempty"`
	Steps            []onboardingStep         `json:"steps"`
	FailedStep       int                      `json:"failed_step,omitempty"`
	SecurityGroups   []syncjobs.SecurityGroup `json:"security_groups,omitempty"`
	AssignedRoleIDs  []string                 `json:"assigned_role_ids,omitempty"`
	LastError        string                   `json:"last_error,omitempty"`
	RequestedBy      string                   `json:"requested_by"`
	ClientID         string                   `json:"client_id,omitempty"`
	CreatedAt        time.Time                `json:"created_at"`
	UpdatedAt        time.Time                `json:"updated_at"`
	FinishedAt       *time.Time               `json:"finished_at,omitempty"`
}

func newOnboardingJob(o syncjobs.Onboarding, sources []aggregate.Source, complete bool) sourced[onboardingJob] {
	j, d := o.Job, o.Detail
	steps := make([]onboardingStep, len(d.Steps))
	for i, s := range d.Steps {
		steps[i] = onboardingStep{Number: i + 1, Step: s}
	}
	if sources == nil {
		sources = []aggregate.Source{}
	}
	return withSources(onboardingJob{
		ID: j.ID, Kind: j.Kind, CustomerTenantID: j.CompanyID, Mode: d.Mode, State: j.State,
		TemplateID: d.TemplateID, TemplateName: d.TemplateName, RoleIDs: d.RoleIDs, Duration: d.Duration,
		GroupOwnerID: d.GroupOwnerID, Steps: steps, FailedStep: d.FailedStep, SecurityGroups: d.SecurityGroups,
		AssignedRoleIDs: d.AssignedRoleIDs, LastError: j.LastError, RequestedBy: j.RequestedBy, ClientID: j.ClientID,
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt, FinishedAt: j.FinishedAt,
	}, sources, complete)
}

// onboardingError maps the onboarding service's errors.
func onboardingError(err error, sources []aggregate.Source) error {
	var (
		ve *syncjobs.ValidationError
		re *syncjobs.RoleError
		ce *syncjobs.ConflictError
	)
	switch {
	case errors.As(err, &ve):
		fes := make([]problem.FieldError, len(ve.Fields))
		for i, f := range ve.Fields {
			fes[i] = problem.FieldError{Location: "body." + f.Field, Code: f.Code, Message: f.Message}
		}
		return problem.BadRequest("the onboarding request is not valid", fes...)
	case errors.As(err, &re):
		p := problem.BadRequest("the request names roles GDAP does not offer",
			problem.FieldError{Location: "body.role_ids", Code: problem.CodeInvalidChoice, Message: "GDAP does not offer " + strings.Join(re.Unknown, ", ") + " (see GET /v1/roles)"})
		p.Sources = sources
		return p
	case errors.As(err, &ce):
		detail := "an onboarding of this customer is already running; wait for it to finish"
		if ce.Active.ID != "" {
			detail = fmt.Sprintf("an onboarding of this customer is already %s: %s", ce.Active.State, onboardingPath(ce.Active.ID))
		}
		p := problem.New(http.StatusConflict, "onboarding-running", "Conflict", detail)
		if ce.Active.ID != "" {
			p.Extensions = map[string]any{"blocking_job_id": ce.Active.ID}
		}
		p.Err = err
		return p
	case errors.Is(err, syncjobs.ErrNotFound):
		return problem.NotFound("no GDAP onboarding with this id")
	case errors.Is(err, syncjobs.ErrStore):
		return storeUnavailable("the job store is unavailable; nothing was sent to GDAP; retry later", err)
	}
	p := toProblem(err)
	if len(sources) > 0 {
		p.Sources = sources
	}
	return p
}

// handleStartOnboarding serves POST /v1/gdap/onboardings (operationId
// startGDAPOnboarding): 202 with the running job and its Location.
func handleStartOnboarding(svc Onboarding, wl writeLog) http.Handler {
	type request struct {
		CustomerTenantID string   `json:"customer_tenant_id"`
		Mode             string   `json:"mode"`
		TemplateID       string   `json:"template_id"`
		TemplateName     string   `json:"template_name"`
		RoleIDs          []string `json:"role_ids"`
		Duration         string   `json:"duration"`
		GroupOwnerID     string   `json:"group_owner_id"`
	}
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		toStart := func(req *request) syncjobs.OnboardingRequest {
			return syncjobs.OnboardingRequest{
				CustomerTenantID: req.CustomerTenantID, Mode: req.Mode, TemplateID: req.TemplateID, TemplateName: req.TemplateName,
				RoleIDs: req.RoleIDs, Duration: req.Duration, GroupOwnerID: req.GroupOwnerID,
			}
		}
		// The service validates the fields, here with the body's other
		// mistakes, and again in Start (ValidationError in onboardingError).
		req, err := decodeValid(w, r, func(req *request) error {
			if err := svc.Validate(toStart(req)); err != nil {
				return onboardingError(err, nil)
			}
			return nil
		})
		if err != nil {
			return err
		}
		p, _ := auth.FromContext(r.Context())
		start := toStart(&req)
		start.RequestedBy, start.ClientID, start.Audit = p.Subject, p.ClientID, onboardAuditor{wl: wl, r: r}
		res, err := svc.Start(r.Context(), start)
		if err != nil {
			return onboardingError(err, res.Sources)
		}
		w.Header().Set("Location", onboardingPath(res.Job.ID))
		return respond(w, http.StatusAccepted, newOnboardingJob(res.Onboarding, res.Sources, res.Complete))
	})
}

// onboardAuditor records an onboarding in the audit trail: begun before
// the first step, finished with the job's outcome.
type onboardAuditor struct {
	wl writeLog
	r  *http.Request
}

func (a onboardAuditor) Begin(_ context.Context, j store.SyncJob) (syncjobs.AuditRecord, error) {
	o, err := syncjobs.ParseOnboarding(j)
	if err != nil {
		return nil, err
	}
	d := o.Detail
	pw, err := a.wl.begin(a.r, opOnboard, "gdap-onboarding/"+j.ID, map[string]any{
		"customer_tenant_id": j.CompanyID, "mode": d.Mode, "template_id": d.TemplateID, "template_name": d.TemplateName,
		"role_ids": d.RoleIDs, "duration": d.Duration, "group_owner_id": d.GroupOwnerID})
	if err != nil {
		return nil, err
	}
	return syncAuditRecord{pw}, nil
}

// handleGetOnboarding serves GET /v1/gdap/onboardings/{id} (operationId
// getGDAPOnboarding).
func handleGetOnboarding(svc Onboarding) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		id := strings.ToLower(pathParam(r, "id"))
		var errs []error
		if !syncjobs.ValidID(id) {
			errs = append(errs, problem.BadRequest("the onboarding id is not valid",
				problem.FieldError{Location: "path.id", Code: problem.CodeInvalidFormat, Message: "must be an onboarding job id (a UUID)"}))
		}
		if err := joinBadRequests(append(errs, newQuery(r).err())...); err != nil {
			return err
		}
		o, err := svc.Get(r.Context(), id)
		if err != nil {
			return onboardingError(err, nil)
		}
		return respond(w, http.StatusOK, newOnboardingJob(o, nil, true))
	})
}

// handlePublishTemplate serves POST /v1/gdap/templates (operationId
// publishGDAPTemplate). The roles are checked against GetAvailableRoles and
// the duration against GDAP's P1D..P2Y before anything is published.
func handlePublishTemplate(g TemplateGDAP, wl writeLog) http.Handler {
	type request struct {
		Name     string   `json:"name"`
		RoleIDs  []string `json:"role_ids"`
		Duration string   `json:"duration"`
	}
	type response struct {
		TemplateID string       `json:"template_id"`
		Name       string       `json:"name"`
		Roles      []model.Role `json:"roles"`
		Duration   string       `json:"duration"`
		Message    string       `json:"message,omitempty"`
	}
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		var (
			ids  []string
			name string
		)
		req, err := decodeValid(w, r, func(req *request) error {
			var fes []syncjobs.FieldError
			ids, fes = syncjobs.CheckRoles("role_ids", req.RoleIDs)
			name = strings.TrimSpace(req.Name)
			if name == "" || len(name) > 100 {
				fes = append(fes, syncjobs.FieldError{Field: "name", Code: problem.CodeRequired, Message: "is required (1 to 100 characters)"})
			}
			if !syncjobs.ValidDuration(req.Duration) {
				fes = append(fes, syncjobs.FieldError{Field: "duration", Code: problem.CodeInvalidFormat, Message: "must be an ISO 8601 duration from P1D to P2Y, such as P730D or P2Y"})
			}
			if len(fes) > 0 {
				return onboardingError(&syncjobs.ValidationError{Fields: fes}, nil)
			}
			return nil
		})
		if err != nil {
			return err
		}
		roles, rolesSrc, err := syncjobs.ResolveRoles(r.Context(), g, ids)
		if err != nil {
			return onboardingError(err, []aggregate.Source{rolesSrc})
		}
		pw, err := wl.begin(r, opPublishTemplate, "gdap-template/new", map[string]any{"name": name, "role_ids": ids, "duration": req.Duration})
		if err != nil {
			return err
		}
		res, src, err := aggregate.One(r.Context(), model.VendorGDAP, func(ctx context.Context) (gdap.TemplateResult, error) {
			return g.PublishTemplate(ctx, gdap.TemplateRequest{Name: name, Roles: roles, Duration: req.Duration})
		})
		pw.done(src, http.StatusCreated, err)
		if err != nil {
			return onboardingError(err, []aggregate.Source{src})
		}
		return respond(w, http.StatusCreated, withSources(response{TemplateID: res.TemplateID, Name: name, Roles: roles, Duration: req.Duration,
			Message: res.Message}, oneSource(src), true))
	})
}

// handleCreateSecurityGroups serves POST /v1/gdap/templates/{id}/security-groups
// (operationId createGDAPSecurityGroups).
func handleCreateSecurityGroups(g TemplateGDAP, wl writeLog) http.Handler {
	type request struct {
		OwnerID string `json:"owner_id"`
	}
	type response struct {
		TemplateID     string                   `json:"template_id"`
		SecurityGroups []syncjobs.SecurityGroup `json:"security_groups"`
		Message        string                   `json:"message,omitempty"`
	}
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		id := strings.ToLower(pathParam(r, "id"))
		var idErr error
		if !syncjobs.ValidID(id) {
			idErr = problem.BadRequest("the template id is not valid",
				problem.FieldError{Location: "path.id", Code: problem.CodeInvalidFormat, Message: "must be a template id (a GUID)"})
		}
		var owner string
		_, err := decodeValid(w, r, func(req *request) error {
			owner = strings.ToLower(strings.TrimSpace(req.OwnerID))
			if !syncjobs.ValidID(owner) {
				return problem.BadRequest("the owner is not valid",
					problem.FieldError{Location: "body.owner_id", Code: problem.CodeInvalidFormat, Message: "must be the Entra object id (a GUID) of the user who will own the groups"})
			}
			return nil
		}, idErr)
		if err != nil {
			return err
		}
		pw, err := wl.begin(r, opCreateSecurityGroups, "gdap-template/"+id, map[string]string{"template_id": id, "owner_id": owner})
		if err != nil {
			return err
		}
		res, src, err := aggregate.One(r.Context(), model.VendorGDAP, func(ctx context.Context) (gdap.SecurityGroupsResult, error) {
			return g.CreateSecurityGroups(ctx, id, owner)
		})
		pw.done(src, http.StatusCreated, err)
		if err != nil {
			return onboardingError(err, []aggregate.Source{src})
		}
		groups := make([]syncjobs.SecurityGroup, 0, len(res.Groups))
		for _, sg := range res.Groups {
			groups = append(groups, syncjobs.SecurityGroup{Succeeded: sg.Succeeded, GroupID: sg.GroupID, Text: sg.Text})
		}
		return respond(w, http.StatusCreated, withSources(response{TemplateID: id, SecurityGroups: groups, Message: strings.Join(res.Messages, "; ")},
			oneSource(src), true))
	})
}
