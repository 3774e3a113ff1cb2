package sim

import (
	"bufio"
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// exportRow is one line of a user export, built under Server.mu.
type exportRow struct {
	at   time.Time
	key  string
	line map[string]any
}

// handleExport serves GET /api/export/data.json for dataTypeName=user: one
// JSON object per line (application/x-json-stream), each a flat user
// record (email, userId, signupDate, profileUpdatedAt and the data fields),
// reduced to onlyFields when given, oldest first. The date range selects
// users by profileUpdatedAt (by signupDate with Options.ExportBySignupDate),
// from startDateTime inclusive to endDateTime exclusive, or by range (Today,
// Yesterday, BeforeToday, All; UTC days). Iterable requires a range or both
// dates; without them the answer is 400 BadParams. The simulator holds no
// events, so other data types are refused with 400 rather than answered with
// an export that would look complete.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request, rec *Request) {
	q := r.URL.Query()
	if dt := q.Get("dataTypeName"); dt != "user" {
		s.writeError(w, rec, http.StatusBadRequest, "BadParams", "the simulator exports dataTypeName=user only, got "+dt, nil)
		return
	}
	from, to, msg := s.exportRange(q.Get("range"), q.Get("startDateTime"), q.Get("endDateTime"))
	if msg != "" {
		s.writeError(w, rec, http.StatusBadRequest, "BadParams", msg, nil)
		return
	}
	only := map[string]bool{}
	for _, v := range q["onlyFields"] {
		// Swagger declares a repeated parameter but describes it as comma
		// separated; both forms are read.
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				only[f] = true
			}
		}
	}

	s.mu.Lock()
	var rows []exportRow
	for _, p := range s.st.all() {
		at := p.updated
		if s.opts.ExportBySignupDate {
			at = p.created
		}
		if at.Before(from) || !at.Before(to) {
			continue
		}
		rows = append(rows, exportRow{at: at, key: p.email + "\x00" + p.userID, line: exportLine(p, only)})
	}
	s.mu.Unlock()
	slices.SortFunc(rows, func(a, b exportRow) int {
		return cmp.Or(a.at.Compare(b.at), strings.Compare(a.key, b.key))
	})

	rec.Status = http.StatusOK
	rec.Users = len(rows)
	w.Header().Set("Content-Type", "application/x-json-stream")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, row := range rows {
		if err := enc.Encode(row.line); err != nil {
			s.log.Debug("sim: write export", "err", err)
			return
		}
	}
	if err := bw.Flush(); err != nil {
		s.log.Debug("sim: write export", "err", err)
	}
}

// exportRange reads the date range of an export request; msg explains a
// refusal.
func (s *Server) exportRange(rng, start, end string) (from, to time.Time, msg string) {
	if start != "" || end != "" {
		if start == "" || end == "" {
			return from, to, "startDateTime and endDateTime must be given together"
		}
		var ok bool
		if from, ok = parseExportTime(start); !ok {
			return from, to, "invalid startDateTime " + start + ": want yyyy-MM-dd HH:mm:ss [ZZ]"
		}
		if to, ok = parseExportTime(end); !ok {
			return from, to, "invalid endDateTime " + end + ": want yyyy-MM-dd HH:mm:ss [ZZ]"
		}
		return from, to, ""
	}
	today := s.now().UTC().Truncate(24 * time.Hour)
	switch rng {
	case "Today":
		return today, today.Add(24 * time.Hour), ""
	case "Yesterday":
		return today.Add(-24 * time.Hour), today, ""
	case "BeforeToday":
		return time.Time{}, today, ""
	case "All":
		return time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), ""
	case "":
		return from, to, "use of either range or startDateTime and endDateTime is required"
	}
	return from, to, "invalid range " + rng
}

// parseExportTime reads startDateTime or endDateTime: Iterable documents
// "yyyy-MM-dd HH:mm:ss [ZZ]", a time with an optional zone; without one it
// is UTC, like the range parameter.
func parseExportTime(v string) (time.Time, bool) {
	for _, l := range []string{"2006-01-02 15:04:05 -07:00", "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// exportLine is p as an export line, reduced to the only fields if any.
func exportLine(p *profile, only map[string]bool) map[string]any {
	line := copyFields(p.fields)
	if p.email != "" {
		line["email"] = p.email
	}
	if p.userID != "" {
		line["userId"] = p.userID
	}
	line["signupDate"] = formatDate(p.created)
	line["profileUpdatedAt"] = formatDate(p.updated)
	if len(only) > 0 {
		for k := range line {
			if !only[k] {
				delete(line, k)
			}
		}
	}
	return line
}
