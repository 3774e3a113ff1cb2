package sim

import (
	"strings"
	"testing"
)

func TestValidEmail(t *testing.T) {
	for email, want := range map[string]bool{
		"user@example.com":                       true,
		"First.Last+tag@sub.ex.org":              true,
		"o'brien@example.ie":                     true,
		"x@[192.168.0.1]":                        true,
		`"quoted local"@example.com`:             true,
		"user@host":                              false, // no TLD
		"user@example.c":                         false, // TLD too short
		"user@example.c0m":                       false, // TLD not alphabetic
		"user@-example.com":                      false,
		"user@example..com":                      false,
		"user.@example.com":                      false,
		".user@example.com":                      false,
		"us..er@example.com":                     false,
		"user@@example.com":                      false,
		"user name@example.com":                  false,
		" user@example.com":                      false,
		"user@example.com ":                      false,
		"user@example.com.":                      false,
		"@example.com":                           false,
		"user@":                                  false,
		"000":                                    false,
		"":                                       false,
		strings.Repeat("a", 65) + "@example.com": false,
		"x@[300.1.1.1]":                          false,
	} {
		if got := validEmail(email); got != want {
			t.Errorf("validEmail(%q) = %v, want %v", email, got, want)
		}
	}
}

func TestValidUserID(t *testing.T) {
	for id, want := range map[string]bool{
		"u-1":                   true,
		"Case Sensitive":        true,
		" leading":              true,
		"a/b@c":                 true,
		strings.Repeat("x", 52): true,
		strings.Repeat("x", 53): false,
		"":                      false,
		"trailing ":             false,
		"caf\u00e9":             false,
		"new\nline":             false,
		"del\x7f":               false,
	} {
		if got := validUserID(id); got != want {
			t.Errorf("validUserID(%q) = %v, want %v", id, got, want)
		}
	}
}
