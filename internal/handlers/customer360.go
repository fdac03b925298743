package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/problem"
)

// handleGetCustomer serves GET /v1/customers/{id} (operationId getCustomer):
// the customer 360 view, one section per vendor, each with its own status.
// include= names the sections to read (all when absent). An id that names a
// vendor record merged into another customer (an alias, such as the
// crayon-<id> of a customer listed as ms-<tenant>) answers that customer,
// with a Link to its canonical id.
func handleGetCustomer(svc *aggregate.CustomerViews) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request) error {
		key, ok := aggregate.ParseCustomerID(chi.URLParam(r, "id"))
		var idErr error
		if !ok {
			idErr = problem.BadRequest("the customer id is not valid", problem.FieldError{Location: "path.id", Code: problem.CodeInvalidFormat,
				Message: "must be a customer id as GET /v1/customers lists them: ms-<Microsoft tenant id>, crayon-<tenant id> or bokamera-<customer id>"})
		}
		q := newQuery(r, "include")
		include := q.sections("include")
		if err := joinBadRequests(idErr, q.err()); err != nil {
			return err
		}
		view, err := svc.Get(r.Context(), key, include...)
		var nf *aggregate.CustomerNotFoundError
		switch {
		case errors.As(err, &nf):
			p := problem.NotFound("no vendor knows a customer with this id")
			p.Err = err
			return p
		case err != nil:
			return err
		}
		if view.Customer.ID != key.String() {
			w.Header().Set("Link", "</v1/customers/"+view.Customer.ID+`>; rel="canonical"`)
		}
		return respond(w, http.StatusOK, view)
	})
}

// sections reads include=: comma-separated 360 view section names, each
// at most once; nil when absent.
func (q *query) sections(name string) []string {
	v, ok := q.values[name]
	if !ok {
		return nil
	}
	if v[0] == "" {
		q.fail(name, problem.CodeEmpty, "must name at least one section: "+strings.Join(aggregate.SectionNames, ", "))
		return nil
	}
	var out []string
	for s := range strings.SplitSeq(v[0], ",") {
		switch {
		case !slices.Contains(aggregate.SectionNames, s):
			q.fail(name, problem.CodeInvalidChoice, fmt.Sprintf("%q is not a section; each must be one of %s", s, strings.Join(aggregate.SectionNames, ", ")))
			return nil
		case slices.Contains(out, s):
			q.fail(name, problem.CodeDuplicate, fmt.Sprintf("names %s twice", s))
			return nil
		}
		out = append(out, s)
	}
	return out
}
