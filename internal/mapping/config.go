package mapping

// Config is what the mapper compiles from a sync's definition: which row
// field identifies the user, which row fields become which Iterable fields,
// what a delete asks for, and the placeholder of unreadable values. The
// YAML tags are those of the iterable section, which embeds Identifier and
// Attributes; OnDelete and UnavailableValue come from the source section.
type Config struct {
	Identifier Identifier
	Attributes []Attribute
	OnDelete   OnDelete
	// UnavailableValue is the placeholder a source writes for a value it
	// could not read (Debezium's unchanged TOASTed columns). Such a value is
	// "not present": the attribute is left alone, as if the field were
	// missing. A value starting with "hex:" is hexadecimal bytes, as in
	// Debezium's setting of the same meaning. "" turns the rule off;
	// DefaultUnavailableValue is Debezium's own.
	UnavailableValue string
}

// Identifier says which row field identifies the user and as what.
type Identifier struct {
	Source string       `yaml:"source"` // field path in the row
	As     IdentifierAs `yaml:"as"`
}

// IdentifierAs is what the identifier is to Iterable.
type IdentifierAs string

// The values of iterable.identifier.as.
const (
	AsEmail  IdentifierAs = "email"
	AsUserID IdentifierAs = "userId"
)

// Attribute maps one row field onto one Iterable user field.
type Attribute struct {
	From  string `yaml:"from"`
	To    string `yaml:"to"`
	Type  Type   `yaml:"type"`
	Unit  Unit   `yaml:"unit"`
	Nulls Nulls  `yaml:"nulls"`
}

// Type is the type an attribute's value is converted to.
type Type string

// The values of an attribute's type. "" is auto.
const (
	TypeAuto    Type = "auto"
	TypeString  Type = "string"
	TypeNumber  Type = "number"
	TypeBoolean Type = "boolean"
	TypeDate    Type = "date"
	TypeObject  Type = "object"
)

// Unit is what a number means as a date (type date, numeric input).
type Unit string

// The values of an attribute's unit. "" is milliseconds.
const (
	UnitSeconds Unit = "s"
	UnitMillis  Unit = "ms"
	UnitMicros  Unit = "us"
	UnitNanos   Unit = "ns"
	UnitDays    Unit = "days"
)

// Nulls says what a null value of an attribute does.
type Nulls string

// The values of an attribute's nulls. "" is send.
const (
	NullsSend Nulls = "send" // the field is set to null in Iterable
	NullsSkip Nulls = "skip" // the field is left alone
)

// OnDelete says what a deleted row asks of its user.
type OnDelete string

// The values of source.on_delete. "" is ignore.
const (
	OnDeleteIgnore OnDelete = "ignore"
	OnDeleteUnset  OnDelete = "unset"  // every mapped field set to null
	OnDeleteDelete OnDelete = "delete" // the user deleted from Iterable
)
