package handlers

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/pagetoken"
	"github.com/partnerhub/gateway/internal/problem"
)

// LicenseQuota is the partner app's licence usage, when the vendor sends it.
type LicenseQuota = model.LicenseQuota

// LicenseManager is DBSync's licence manager, as the handlers need it.
type LicenseManager interface {
	Register(ctx context.Context, company, user string) (model.License, error)
	Unregister(ctx context.Context, company, user string) (model.License, error)
	Check(ctx context.Context, company, user string) (model.LicenseCheck, error)
	List(ctx context.Context, company string) ([]model.License, *LicenseQuota, error)
}

const maxNameLen = 200

// licenseName checks one company or user name wherever it comes from.
func licenseName(loc, v string, required bool) *problem.FieldError {
	code, msg := "", ""
	switch {
	case strings.TrimSpace(v) == "":
		if required {
			code, msg = problem.CodeRequired, "is required"
		}
	case utf8.RuneCountInString(v) > maxNameLen:
		code, msg = problem.CodeTooLong, "must be at most 200 characters"
	case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		code, msg = problem.CodeInvalidFormat, "must be text without control characters"
	}
	if msg == "" {
		return nil
	}
	return &problem.FieldError{Location: loc, Code: code, Message: msg}
}

func badNames(fes ...*problem.FieldError) error {
	var out []problem.FieldError
	for _, fe := range fes {
		if fe != nil {
			out = append(out, *fe)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return problem.BadRequest("the request is not valid", out...)
}

// pathParam is a path segment decoded once: chi hands back the escaped
// form when the path had escapes the default encoding would not produce
// (such as %2F).
func pathParam(r *http.Request, name string) string {
	v := chi.URLParam(r, name)
	if r.URL.RawPath != "" {
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}

// quotaExhausted is the 422 of a registration refused for a full annual
// quota, with the usage when the vendor reported it.
func quotaExhausted(qe *model.QuotaExhaustedError) *problem.Problem {
	detail := "the partner app's annual quota of licensed users is used up; unregistering a user does not give a seat back this year"
	if q := qe.Quota; q != nil {
		detail = fmt.Sprintf("the partner app's annual quota of licensed users is used up (%d of %d used this year); unregistering a user does not give a seat back this year", q.Used, q.AnnualQuota)
	}
	p := problem.New(http.StatusUnprocessableEntity, "license-quota-exhausted", "Unprocessable Content", detail)
	if qe.Quota != nil {
		p.Extensions = map[string]any{"quota": qe.Quota}
	}
	p.Err = qe
	return p
}

// handleListLicenses serves GET /v1/licenses (operationId listLicenses):
// one page of DBSync's licensed users, by company then user. DBSync answers
// the whole list (of one company) at once; the page is cut from it, and
// the token carries the offset into that sorted list.
func handleListLicenses(lm LicenseManager, tokens *pagetoken.Codec) http.Handler {
	// DBSync's quota rides beside the list.
	type response struct {
		listAnswer[model.License]
		Quota *LicenseQuota `json:"quota,omitempty"`
	}
	type listed struct {
		items []model.License
		quota *LicenseQuota
	}
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		q := newQuery(r, "company", "user", "page_size", "page_token")
		company, user := q.values.Get("company"), q.values.Get("user")
		size := q.intRange("page_size", defaultPageSize, 1, maxPageSize)
		pg := pager{tokens, fmt.Sprintf("licenses|%s|%s|%d", company, strings.ToLower(user), size)}
		pos := pg.read(q, nil)
		if err := joinBadRequests(q.err(), badNames(licenseName("query.company", company, false), licenseName("query.user", user, false))); err != nil {
			return err
		}
		got, src, err := aggregate.One(r.Context(), model.VendorDBSync, func(ctx context.Context) (listed, error) {
			items, quota, err := lm.List(ctx, company)
			return listed{items, quota}, err
		})
		if err != nil {
			return err
		}
		// DBSync filters by company only; the user filter is the gateway's.
		items := make([]model.License, 0, len(got.items))
		for _, l := range got.items {
			if user == "" || strings.EqualFold(l.User, user) {
				items = append(items, l)
			}
		}
		slices.SortStableFunc(items, func(a, b model.License) int {
			return cmp.Or(cmp.Compare(strings.ToLower(a.Company), strings.ToLower(b.Company)),
				cmp.Compare(strings.ToLower(a.User), strings.ToLower(b.User)))
		})
		if pos.Offset > len(items) {
			return pageTokenStale("the page token points past the end of the list", "points past the end of the list (licences were removed since); start again without it")
		}
		end := min(pos.Offset+size, len(items))
		resp := response{newList(items[pos.Offset:end], oneSource(src), true), got.quota}
		resp.TotalSize = total(len(items))
		if end < len(items) {
			resp.NextPageToken = pg.next(pagetoken.Position{Offset: end})
		}
		if pos.Offset > 0 {
			resp.PreviousPageToken = pg.next(pagetoken.Position{Offset: max(0, pos.Offset-size)})
		}
		return respond(w, http.StatusOK, resp)
	})
}

// handleRegisterLicense serves POST /v1/licenses (operationId registerLicense).
func handleRegisterLicense(lm LicenseManager, wl writeLog) http.Handler {
	type request struct {
		Company string `json:"company"`
		User    string `json:"user"`
	}
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		req, err := decodeValid(w, r, func(req *request) error {
			return badNames(licenseName("body.company", req.Company, true), licenseName("body.user", req.User, true))
		})
		if err != nil {
			return err
		}
		pw, err := wl.begin(r, opRegisterLicense, req.Company+"/"+req.User, req)
		if err != nil {
			return err
		}
		l, src, err := aggregate.One(r.Context(), model.VendorDBSync, func(ctx context.Context) (model.License, error) {
			return lm.Register(ctx, req.Company, req.User)
		})
		pw.done(src, http.StatusCreated, err)
		if err != nil {
			return err
		}
		w.Header().Set("Location", licensePath(l))
		return respond(w, http.StatusCreated, withSources(l, oneSource(src), true))
	})
}

// licensePath is where a licence is read: by its stable id, or by names
// when the vendor gave no id.
func licensePath(l model.License) string {
	if l.ID != "" {
		return "/v1/licenses/" + url.PathEscape(l.ID)
	}
	return "/v1/licenses/" + url.PathEscape(l.Company) + "/" + url.PathEscape(l.User)
}

// licenseByID resolves path.id, a DBSync user id, to the licence's names.
// DBSync has no lookup by id, so this reads licenseDetails over every
// company: one vendor call whose answer grows with the partner app's
// licensed users (bounded by its annual quota).
func licenseByID(r *http.Request, lm LicenseManager) (model.License, aggregate.Source, error) {
	id := pathParam(r, "id")
	if err := newQuery(r).err(); err != nil {
		return model.License{}, aggregate.Source{}, err
	}
	all, src, err := aggregate.One(r.Context(), model.VendorDBSync, func(ctx context.Context) ([]model.License, error) {
		items, _, err := lm.List(ctx, "")
		return items, err
	})
	if err != nil {
		return model.License{}, src, err
	}
	for _, l := range all {
		if l.UserID == id {
			return l, src, nil
		}
	}
	return model.License{}, src, problem.NotFound("the licence manager has no licensed user with id " + id)
}

// handleCheckLicenseByID serves GET /v1/licenses/{id} (operationId
// checkLicenseById): the licence check of the user with this DBSync id.
func handleCheckLicenseByID(lm LicenseManager) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		l, first, err := licenseByID(r, lm)
		if err != nil {
			return err
		}
		c, src, err := aggregate.One(r.Context(), model.VendorDBSync, func(ctx context.Context) (model.LicenseCheck, error) {
			return lm.Check(ctx, l.Company, l.User)
		})
		if err != nil {
			return err
		}
		if c.ID == "" {
			c.ID, c.UserID = l.UserID, l.UserID
		}
		return respond(w, http.StatusOK, withSources(c, []aggregate.Source{first, src}, true))
	})
}

// handleUnregisterLicenseByID serves DELETE /v1/licenses/{id} (operationId
// unregisterLicenseById): as unregisterLicense, for the user with this id.
func handleUnregisterLicenseByID(lm LicenseManager, wl writeLog) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		l, first, err := licenseByID(r, lm)
		if err != nil {
			return err
		}
		pw, err := wl.begin(r, opUnregisterLicense, l.Company+"/"+l.User, map[string]string{"id": l.UserID, "company": l.Company, "user": l.User})
		if err != nil {
			return err
		}
		got, src, err := aggregate.One(r.Context(), model.VendorDBSync, func(ctx context.Context) (model.License, error) {
			return lm.Unregister(ctx, l.Company, l.User)
		})
		pw.done(src, http.StatusOK, err)
		if err != nil {
			return err
		}
		if got.ID == "" {
			got.ID, got.UserID = l.UserID, l.UserID
		}
		return respond(w, http.StatusOK, withSources(got, []aggregate.Source{first, src}, true))
	})
}

// companyUser reads and checks path.company and path.user.
func companyUser(r *http.Request) (company, user string, err error) {
	company, user = pathParam(r, "company"), pathParam(r, "user")
	err = joinBadRequests(newQuery(r).err(), badNames(licenseName("path.company", company, true), licenseName("path.user", user, true)))
	return company, user, err
}

// handleUnregisterLicense serves DELETE /v1/licenses/{company}/{user}
// (operationId unregisterLicense). It answers 200 with the freed licence.
func handleUnregisterLicense(lm LicenseManager, wl writeLog) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		company, user, err := companyUser(r)
		if err != nil {
			return err
		}
		pw, err := wl.begin(r, opUnregisterLicense, company+"/"+user, map[string]string{"company": company, "user": user})
		if err != nil {
			return err
		}
		l, src, err := aggregate.One(r.Context(), model.VendorDBSync, func(ctx context.Context) (model.License, error) {
			return lm.Unregister(ctx, company, user)
		})
		pw.done(src, http.StatusOK, err)
		if err != nil {
			return err
		}
		return respond(w, http.StatusOK, withSources(l, oneSource(src), true))
	})
}

// handleCheckLicense serves GET /v1/licenses/{company}/{user}
// (operationId checkLicense): DBSync authenticateUser.
func handleCheckLicense(lm LicenseManager) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		company, user, err := companyUser(r)
		if err != nil {
			return err
		}
		c, src, err := aggregate.One(r.Context(), model.VendorDBSync, func(ctx context.Context) (model.LicenseCheck, error) {
			return lm.Check(ctx, company, user)
		})
		if err != nil {
			return err
		}
		return respond(w, http.StatusOK, withSources(c, oneSource(src), true))
	})
}
