package bench

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Row is one figure of the table, beside its baseline from the same run.
type Row struct {
	Metric   string
	Value    string // attrsync's figure
	Baseline string
	Versus   string // the figure relative to its baseline
	Notes    string
}

// Table is the bench's output.
type Table struct {
	Title string
	Rows  []Row
}

var header = Row{Metric: "Metric", Value: "attrsync", Baseline: "Baseline (same run)", Versus: "vs baseline", Notes: "Notes"}

func (r Row) cells() []string { return []string{r.Metric, r.Value, r.Baseline, r.Versus, r.Notes} }

// Row returns the row of a metric, false when there is none.
func (t *Table) Row(metric string) (Row, bool) {
	for _, r := range t.Rows {
		if r.Metric == metric {
			return r, true
		}
	}
	return Row{}, false
}

// WriteText writes the table as aligned plain text.
func (t *Table) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, t.Title)
	fmt.Fprintln(tw)
	rows := append([]Row{header}, t.Rows...)
	for i, r := range rows {
		fmt.Fprintln(tw, strings.Join(r.cells(), "\t"))
		if i == 0 {
			fmt.Fprintln(tw, "------\t--------\t-------------------\t-----------\t-----")
		}
	}
	return tw.Flush()
}

// WriteMarkdown writes the table as a Markdown table for the README.
func (t *Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", t.Title)
	line := func(cells []string) {
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	line(header.cells())
	line([]string{"---", "---:", "---:", "---:", "---"})
	for _, r := range t.Rows {
		line(r.cells())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// errorRow marks a metric whose scenario failed.
func errorRow(metric string, err error) Row {
	return Row{Metric: metric, Value: "ERROR", Baseline: "-", Versus: "-", Notes: err.Error()}
}

// thousands formats n with comma separators: 1234567 → "1,234,567".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// mib formats KiB as MiB.
func mib(kib int64) string { return fmt.Sprintf("%s MiB", thousands((kib+512)/1024)) }
