package timefmt

import (
	"strings"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	at := time.Date(2026, time.March, 5, 7, 4, 9, 0, time.FixedZone("CET", 3600))
	pm := time.Date(1999, time.December, 31, 23, 59, 58, 0, time.UTC)
	tests := []struct {
		layout string
		t      time.Time
		want   string
	}{
		{"%Y-%m-%d %H:%M:%S", at, "2026-03-05 07:04:09"},
		{"%F %T", pm, "1999-12-31 23:59:58"},
		{"%y%m%d", at, "260305"},
		{"[%e]", at, "[ 5]"},
		{"day %j", at, "day 064"},
		{"day %j", pm, "day 365"},
		{"%I:%M %p", at, "07:04 AM"},
		{"%I:%M %p", pm, "11:59 PM"},
		{"%I", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "12"},
		{"%a %A %b %B", at, "Thu Thursday Mar March"},
		{"%z %Z", at, "+0100 CET"},
		{"100%% at %H", at, "100% at 07"},
		{"no fields", at, "no fields"},
		{"Front door %T", at, "Front door 07:04:09"},
		{"", at, ""},
	}
	for _, tt := range tests {
		l, err := Parse(tt.layout)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.layout, err)
		}
		if got := l.Format(tt.t); got != tt.want {
			t.Errorf("Format(%q) = %q, want %q", tt.layout, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ layout, want string }{
		{"%Q", "unknown time field %Q"},
		{"%Y-%m-%d %H:%M:%k", "unknown time field %k"},
		{"50%", "ends with a lone %"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.layout)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.layout, err, tt.want)
		}
	}
}

func TestHasFields(t *testing.T) {
	for layout, want := range map[string]bool{"%S": true, "cam %%": false, "cam": false, "x %F": true} {
		l, err := Parse(layout)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.HasFields(); got != want {
			t.Errorf("Parse(%q).HasFields() = %v, want %v", layout, got, want)
		}
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	l, err := Parse("%Y-%m-%d %H:%M:%S %a")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 64)
	now := time.Now()
	if n := testing.AllocsPerRun(100, func() { buf = l.Append(buf[:0], now) }); n != 0 {
		t.Errorf("Append allocates %v times per call, want 0", n)
	}
}
