# SPDX-License-Identifier: LGPL-2.1-or-later
# Print the data members of the structs named in STRUCTS (a space separated
# list) from an abidw XML file, one per line:
#     struct size-in-bits member offset-in-bits type
# with the member's type spelled out from the XML's type ids, so that two
# files (whose ids differ) can be compared.  Used by check-abidiff.sh.
function attr(line, a,    m) {
	if (match(line, " " a "='[^']*'")) {
		m = substr(line, RSTART + length(a) + 3, RLENGTH - length(a) - 4)
		return m
	}
	return ""
}
function R(id, depth,    k, s, i, n) {
	if (id == "") return "?"
	if (depth > 20) return "..."
	k = kind[id]
	if (k == "type-decl") return tname[id]
	if (k == "typedef-decl") return tname[id]
	if (k == "pointer-type-def") return R(tref[id], depth + 1) "*"
	if (k == "qualified-type-def") return tqual[id] R(tref[id], depth + 1)
	if (k == "class-decl") return "struct " tname[id]
	if (k == "union-decl") return "union " tname[id]
	if (k == "enum-decl") return "enum " tname[id]
	if (k == "array-type-def") return R(tref[id], depth + 1) "[" tsize[id] "]"
	if (k == "function-type") {
		s = "fn("
		n = nparm[id]
		for (i = 1; i <= n; i++) s = s (i > 1 ? "," : "") R(parm[id, i], depth + 1)
		return s ")->" R(tret[id], depth + 1)
	}
	return "?" k
}
BEGIN { nwant = split(STRUCTS, w, " "); for (i = 1; i <= nwant; i++) want[w[i]] = 1 }
{
	line = $0
	if (match(line, /<(type-decl|typedef-decl|pointer-type-def|qualified-type-def|class-decl|union-decl|enum-decl|array-type-def|function-type)[ >]/)) {
		el = substr(line, RSTART + 1, RLENGTH - 2)
		id = attr(line, "id")
		if (id != "" && !(id in kind)) {
			kind[id] = el
			tname[id] = attr(line, "name")
			tref[id] = attr(line, "type-id")
			tsize[id] = attr(line, "size-in-bits")
			tqual[id] = (attr(line, "const") == "yes" ? "const " : "") \
				    (attr(line, "volatile") == "yes" ? "volatile " : "")
		}
		if (el == "function-type" && line !~ /\/>/) { fn = id; nparm[fn] = 0 }
		if (el == "class-decl" && (attr(line, "name") in want) && line !~ /is-declaration-only='yes'/ && line !~ /\/>/) {
			cur = attr(line, "name"); cursize = attr(line, "size-in-bits")
			seen[cur] = 1
		}
	}
	if (fn != "" && line ~ /<parameter /) {
		nparm[fn]++
		parm[fn, nparm[fn]] = (attr(line, "is-variadic") == "yes" ? "..." : attr(line, "type-id"))
	}
	if (fn != "" && line ~ /<return /) tret[fn] = attr(line, "type-id")
	if (line ~ /<\/function-type>/) fn = ""
	if (cur != "" && line ~ /<data-member /) off = attr(line, "layout-offset-in-bits")
	if (cur != "" && line ~ /<var-decl /) { nm++; mname[nm] = attr(line, "name"); mtype[nm] = attr(line, "type-id"); moff[nm] = off; mstruct[nm] = cur; msize[nm] = cursize }
	if (cur != "" && line ~ /<\/class-decl>/) cur = ""
}
END {
	for (i = 1; i <= nm; i++)
		if (mtype[i] in kind || 1)
			print mstruct[i], msize[i], mname[i], moff[i], R(mtype[i], 0)
	for (s in want) if (!(s in seen)) print s, "MISSING"
}
