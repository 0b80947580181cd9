// Package memberconftest fills configuration values for round-trip tests
// of package memberconf and of the members whose command lines it derives.
package memberconftest

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"time"
)

// Fill returns a value of type t in which every field that has a
// configuration form (an exported field whose json name is not "-") holds
// something other than its zero value, recursively, so that a round trip
// of it covers every field. Strings hold ',', '=', '?', '&' and a leading
// '-'; integers are negative where they can be; lists have two elements;
// maps one entry. A type with MarshalText gets the value of texts[t], and
// Fill panics if there is none: a test names the text of each such type.
func Fill(t reflect.Type, texts map[reflect.Type]string) reflect.Value {
	v := reflect.New(t).Elem()
	n := 0
	var set func(v reflect.Value)
	set = func(v reflect.Value) {
		n++
		switch {
		case v.Type() == reflect.TypeFor[time.Duration]():
			v.SetInt(int64(time.Duration(n)*time.Second + 250*time.Millisecond))
			return
		case v.Type() == reflect.TypeFor[syscall.Signal]():
			v.SetInt(int64(syscall.SIGUSR2))
			return
		case v.Type().Implements(reflect.TypeFor[encoding.TextMarshaler]()):
			text, ok := texts[v.Type()]
			if !ok {
				panic(fmt.Sprintf("memberconftest: no text for %s", v.Type()))
			}
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
				panic(fmt.Sprintf("memberconftest: %s: %v", v.Type(), err))
			}
			return
		}
		switch v.Kind() {
		case reflect.String:
			v.SetString(fmt.Sprintf("-s%d,k=v?q=1&x", n))
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.SetInt(int64(-n))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			v.SetUint(uint64(n))
		case reflect.Float32, reflect.Float64:
			v.SetFloat(float64(n) + 0.25)
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			set(v.Elem())
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			set(v.Index(0))
			set(v.Index(1))
		case reflect.Map:
			v.Set(reflect.MakeMap(v.Type()))
			e := reflect.New(v.Type().Elem()).Elem()
			set(e)
			v.SetMapIndex(reflect.ValueOf(fmt.Sprintf("k%d", n)).Convert(v.Type().Key()), e)
		case reflect.Struct:
			for i := range v.NumField() {
				if configField(v.Type().Field(i)) {
					set(v.Field(i))
				}
			}
		}
	}
	set(v)
	return v
}

// configField reports whether a struct field has a configuration form.
func configField(sf reflect.StructField) bool {
	name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	return sf.IsExported() && name != "-"
}
