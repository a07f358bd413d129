//===- ChatTemplateTest.cpp - the chat-template engine ----------------------===//
//
// Syntax pieces, jinja2's whitespace control under transformers' options
// (trim_blocks, lstrip_blocks), errors with positions, and the bounds that
// keep hostile templates from crashing or running away. Expected strings
// are jinja2 3.1's renderings; test/chat compares whole real templates with
// jinja2 byte for byte.
//
//===----------------------------------------------------------------------===//

#include "runtime/chat/ChatTemplate.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

using llmc::ChatMessage;
using llmc::ChatTemplate;
using llmc::ChatTemplateContext;

namespace {

ChatTemplateContext conversation() {
  ChatTemplateContext c;
  c.messages = {{"system", "Be brief."},
                {"user", "Hi there"},
                {"assistant", " Hello! "},
                {"user", "Bye"}};
  c.bosToken = "<s>";
  c.eosToken = "</s>";
  c.addGenerationPrompt = true;
  return c;
}

std::string render(const std::string &source,
                   const ChatTemplateContext &context = conversation()) {
  auto parsed = ChatTemplate::parse(source);
  if (!parsed.ok())
    return "PARSE ERROR: " + parsed.message();
  auto rendered = parsed.value()->render(context);
  if (!rendered.ok())
    return "RENDER ERROR: " + rendered.message();
  return rendered.value();
}

/// The error of parsing or rendering; "" if both succeed.
std::string error(const std::string &source,
                  const ChatTemplateContext &context = conversation()) {
  auto parsed = ChatTemplate::parse(source);
  if (!parsed.ok())
    return parsed.message();
  auto rendered = parsed.value()->render(context);
  if (!rendered.ok())
    return rendered.message();
  return "";
}

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

// --- Syntax -------------------------------------------------------------------

TEST(ChatTemplateSyntax, TextAndOutput) {
  EXPECT_EQ(render("plain text"), "plain text");
  EXPECT_EQ(render("{{ 'a' }}{{ \"b\" }}{{ 'c' 'd' }}"), "abcd");
  EXPECT_EQ(render("{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}"),
            "<s>|</s>|True");
  EXPECT_EQ(render("{{ tools }}{{ documents }}{{ tools is defined }}"),
            "NoneNoneTrue");
  EXPECT_EQ(render("{# a comment #}x"), "x");
  EXPECT_EQ(render(""), "");
}

TEST(ChatTemplateSyntax, Literals) {
  EXPECT_EQ(render("{{ 42 }} {{ -3 }} {{ 1_000 }} {{ 0x1F }} {{ 0b101 }} "
                   "{{ 0o17 }}"),
            "42 -3 1000 31 5 15");
  EXPECT_EQ(render("{{ 1.5 }} {{ 2.0 }} {{ 1e3 }} {{ 1e16 }} {{ 0.1 + 0.2 }} "
                   "{{ 1e-05 }}"),
            "1.5 2.0 1000.0 1e+16 0.30000000000000004 1e-05");
  EXPECT_EQ(render("{{ true }} {{ False }} {{ none }} {{ None }}"),
            "True False None None");
  EXPECT_EQ(render("{{ [1, 'a', none, true, 1.5] }}"),
            "[1, 'a', None, True, 1.5]");
  EXPECT_EQ(render("{{ {'k': \"it's\", 'n': [1]} }}"),
            "{'k': \"it's\", 'n': [1]}");
  EXPECT_EQ(render("{{ (1, 2) }}{{ (1,) }}{{ () }}"), "(1, 2)(1,)()");
  EXPECT_EQ(render("{{ 'a\\tb\\\\n\\x41\\u00e9\\101\\q' }}"),
            "a\tb\\nA\xc3\xa9" "A\\q");
}

TEST(ChatTemplateSyntax, Arithmetic) {
  EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 - 10 }}"),
            "7 9 -3");
  EXPECT_EQ(render("{{ 10 / 4 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} "
                   "{{ 7 % -3 }} {{ -7.5 // 2 }} {{ 7.5 % -2 }}"),
            "2.5 3 -4 2 -2 -4.0 -0.5");
  // jinja's ** is left-associative.
  EXPECT_EQ(render("{{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2 ** 3 ** 2 }}"),
            "1024 0.5 64");
  EXPECT_EQ(render("{{ 'ab' * 3 }}{{ 2 * 'c' }}{{ [1] * 2 }}{{ 'x' * -1 }}"),
            "abababcc[1, 1]");
  EXPECT_EQ(render("{{ 'a' ~ 1 ~ none ~ undefined_thing }}"), "a1None");
  EXPECT_EQ(render("{{ [1, 2] + [3] }}{{ true + 1 }}"), "[1, 2, 3]2");
}

TEST(ChatTemplateSyntax, ComparisonsAndLogic) {
  EXPECT_EQ(render("{{ 1 == 1.0 }}{{ 'a' != 'b' }}{{ 1 < 2 < 3 }}"
                   "{{ 1 < 2 < 1 }}{{ 'a' < 'b' }}{{ [1, 2] == [1, 2] }}"),
            "TrueTrueTrueFalseTrueTrue");
  EXPECT_EQ(render("{{ 'ell' in 'hello' }}{{ 2 in [1, 2] }}{{ 'k' in {'k': 1} }}"
                   "{{ 3 not in [1] }}{{ 'x' in nothing }}"),
            "TrueTrueTrueTrueFalse");
  EXPECT_EQ(render("{{ 0 or 'b' }}|{{ 1 and 2 }}|{{ '' or [] }}|{{ not 0 }}"
                   "|{{ not x }}"),
            "b|2|[]|True|True");
  EXPECT_EQ(render("{{ 'y' if 1 > 0 else 'n' }}{{ 'a' if false }}"
                   "{{ 1 if false else 2 if false else 3 }}"),
            "y3");
  EXPECT_EQ(render("{{ messages[0] == messages[0] }}{{ messages[0] == "
                   "messages[1] }}{{ messages[1] in messages }}"),
            "TrueFalseTrue");
}

TEST(ChatTemplateSyntax, AccessAndSlicing) {
  EXPECT_EQ(render("{{ messages[0]['role'] }} {{ messages[1].content }} "
                   "{{ messages[-1].content }}"),
            "system Hi there Bye");
  EXPECT_EQ(render("{{ messages[1:] | length }} {{ messages[:1][0].role }} "
                   "{{ [1, 2, 3, 4, 5][4:1:-2] }} {{ [1, 2, 3][::-1] }}"),
            "3 system [5, 3] [3, 2, 1]");
  // Strings index and slice by code point.
  EXPECT_EQ(render("{{ 'h\xc3\xa9llo'[1] }} {{ 'h\xc3\xa9llo'[-3:] }} "
                   "{{ 'h\xc3\xa9llo'|length }} {{ 'abc'[5] }}|"),
            "\xc3\xa9 llo 5 |");
  EXPECT_EQ(render("{{ [1, 2][5] }}|{{ {}.a }}|{{ none.a }}|{{ 'ab'.foo }}|"),
            "||||");
  EXPECT_EQ(render("{{ {'a': {'b': 1}}}}"), "{'a': {'b': 1}}");
}

TEST(ChatTemplateSyntax, FiltersAndTests) {
  EXPECT_EQ(render("{{ '  a b  '|trim }}|{{ 'xxaxx'|trim('x') }}|"
                   "{{ 'Hi'|upper }}{{ 'Hi'|lower }}|{{ 'hello world'|title }}|"
                   "{{ 'hELLO'|capitalize }}"),
            "a b|a|HIhi|Hello World|Hello");
  EXPECT_EQ(render("{{ [1, 2, 3]|join(', ') }}|{{ ['a', none]|join }}|"
                   "{{ 'Hello'|replace('l', 'L') }}|{{ 'aaa'|replace('a', 'b', 2) }}"),
            "1, 2, 3|aNone|HeLLo|bba");
  EXPECT_EQ(render("{{ x|default('d') }}|{{ ''|default('e') }}|"
                   "{{ ''|default('e', true) }}|{{ messages|length }}|"
                   "{{ 'abc'|first }}{{ [1, 2]|last }}|{{ 1.5|string }}"),
            "d||e|4|a2|1.5");
  EXPECT_EQ(render("{{ messages|selectattr('role', 'equalto', 'user')|list"
                   "|length }} {{ messages|map(attribute='role')|join(',') }} "
                   "{{ [3, 1, 2]|sort }} {{ ['b', 'A', 'c']|sort }} "
                   "{{ {'a': 1}|items|list }} {{ [1, 2, 3]|reject('odd')|list }}"),
            "2 system,user,assistant,user [1, 2, 3] ['A', 'b', 'c'] "
            "[('a', 1)] [2]");
  EXPECT_EQ(render("{{ x is defined }}{{ x is undefined }}{{ none is none }}"
                   "{{ 1 is not none }}{{ 'a' is string }}{{ 1 is number }}"
                   "{{ {} is mapping }}{{ 3 is odd }}{{ 4 is divisibleby 2 }}"
                   "{{ 1 is eq 1 }}"),
            "FalseTrueTrueTrueTrueTrueTrueTrueTrueTrue");
}

TEST(ChatTemplateSyntax, PythonDetails) {
  // repr() of an undefined inside a container, as jinja2 prints it.
  EXPECT_EQ(render("{{ [x, 1] }}"), "[Undefined, 1]");
  // select/map of a false value give nothing (transformers' templates do
  // `tools | selectattr(...)` with tools none).
  EXPECT_EQ(render("{{ none|selectattr('type', 'equalto', 'x')|list }}"
                   "{{ none|map(attribute='a')|list }}"),
            "[][]");
  // Case mapping beyond ASCII: Vietnamese, Greek, German, Latin-1.
  EXPECT_EQ(render("{{ 'ti\xe1\xba\xbfng vi\xe1\xbb\x87t \xcf\x89\xce\xac'"
                   "|upper }} {{ 'stra\xc3\x9f' 'e'|upper }} "
                   "{{ '\xc4\x90\xc3\x94NG'|lower }}"),
            "TI\xe1\xba\xbeNG VI\xe1\xbb\x86T \xce\xa9\xce\x86 STRASSE "
            "\xc4\x91\xc3\xb4ng");
  // A backslash before a non-ASCII character in a literal: jinja2 decodes
  // literals with backslashreplace + unicode-escape.
  EXPECT_EQ(render("{{ 'a\\\xc3\xa9' }}"), "a\\xe9");
  EXPECT_TRUE(contains(error("{{ {'a': 1}.get([1]) }}"), "unhashable type: 'list'"));
  EXPECT_TRUE(contains(error("{{ [1] in {'a': 1} }}"), "unhashable type: 'list'"));
}

TEST(ChatTemplateSyntax, ToJsonAsTransformers) {
  // Keys keep their order, non-ASCII stays, nothing is HTML-escaped.
  EXPECT_EQ(render("{{ {'b': 1, 'a': [1, 'x', none, true, 1.5]}|tojson }}"),
            "{\"b\": 1, \"a\": [1, \"x\", null, true, 1.5]}");
  EXPECT_EQ(render("{{ '\xc3\xa9<&>\\'\\n\\x01'|tojson }}"),
            "\"\xc3\xa9<&>'\\n\\u0001\"");
  EXPECT_EQ(render("{{ {'a': [1, {}]}|tojson(indent=2) }}"),
            "{\n  \"a\": [\n    1,\n    {}\n  ]\n}");
  EXPECT_EQ(render("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}"
                   "{{ '\xc3\xa9'|tojson(ensure_ascii=true) }}"
                   "{{ [1, 2]|tojson(separators=(',', ':')) }}"),
            "{\"a\": 2, \"b\": 1}\"\\u00e9\"[1,2]");
  EXPECT_TRUE(contains(error("{{ x|tojson }}"), "not JSON serializable"));
}

TEST(ChatTemplateSyntax, Methods) {
  EXPECT_EQ(render("{{ ' x '.strip() }}|{{ 'xyx'.strip('x') }}|"
                   "{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('c', 'd')) }}|"
                   "{{ 'a,b'.split(',') }}{{ ' a  b '.split() }}|"
                   "{{ 'abc'.upper() }}"),
            "x|y|TrueTrue|['a', 'b']['a', 'b']|ABC");
  EXPECT_EQ(render("{{ {'a': 1}.get('a') }}{{ {'a': 1}.get('b') }}"
                   "{{ {'a': 1}.get('b', 2) }}"
                   "{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};"
                   "{% endfor %}"),
            "1None2a=1;b=2;");
}

TEST(ChatTemplateSyntax, Statements) {
  EXPECT_EQ(render("{% if false %}a{% elif true %}b{% else %}c{% endif %}"
                   "{% if 0 %}a{% else %}c{% endif %}"),
            "bc");
  EXPECT_EQ(render("{% for m in messages %}{{ loop.index0 }}{{ loop.index }}"
                   "{{ loop.first }}{{ loop.last }}{{ loop.length }};"
                   "{% endfor %}"),
            "01TrueFalse4;12FalseFalse4;23FalseFalse4;34FalseTrue4;");
  EXPECT_EQ(render("{% for x in [1, 2, 3] if x > 1 %}{{ x }}{{ loop.length }}"
                   "{% endfor %}{% for x in [] %}a{% else %}empty{% endfor %}"),
            "2232empty");
  EXPECT_EQ(render("{% for x in [1, 2, 3] %}{{ loop.revindex }}"
                   "{{ loop.previtem }}{{ loop.nextitem }}"
                   "{{ loop.cycle('a', 'b') }};{% endfor %}"),
            "32a;213b;12a;");
  EXPECT_EQ(render("{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}"
                   "{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}"
                   "{% endfor %}"),
            "13");
  // A loop body gets a fresh scope each iteration; `if` does not.
  EXPECT_EQ(render("{% set y = 0 %}{% for x in [1, 2] %}{{ y }}"
                   "{% set y = x %}{% endfor %}{{ y }}"
                   "{% if true %}{% set z = 5 %}{% endif %}{{ z }}"),
            "0005");
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for x in [1, 2, 3] %}"
                   "{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}"),
            "6");
  EXPECT_EQ(render("{% set a, b = [1, 2] %}{{ a }}{{ b }}"
                   "{% set s %}captured{% endset %}{{ s }}"),
            "12captured");
  EXPECT_EQ(render("{% macro tag(name, end='/') %}<{{ name }}{{ end }}>"
                   "{% endmacro %}{{ tag('a') }}{{ tag('b', end='') }}"),
            "<a/><b>");
  EXPECT_EQ(render("{% generation %}kept{% endgeneration %}"), "kept");
  EXPECT_EQ(render("{% raw %}{{ not evaluated }}{% endraw %}"),
            "{{ not evaluated }}");
  EXPECT_EQ(render("{% for i in range(3) %}{{ i }}{% endfor %}"
                   "{{ range(5, 0, -2)|list }}"),
            "012[5, 3, 1]");
}

TEST(ChatTemplateSyntax, MessageContentIsNotTemplate) {
  ChatTemplateContext c;
  c.messages = {{"user", "{{ 1 + 1 }} {% if %} \xf0\x9f\x98\x80 \"q\" 'q'"}};
  EXPECT_EQ(render("{{ messages[0].content }}", c),
            "{{ 1 + 1 }} {% if %} \xf0\x9f\x98\x80 \"q\" 'q'");
}

// --- Whitespace control -------------------------------------------------------

TEST(ChatTemplateWhitespace, TrimBlocksDropsNewlineAfterBlockTags) {
  EXPECT_EQ(render("{% if true %}\nx\n{% endif %}\ny"), "x\ny");
  EXPECT_EQ(render("{# c #}\nx"), "x");
  // Not after {{ }}.
  EXPECT_EQ(render("{{ 'a' }}\nb"), "a\nb");
  // Only the newline right after the tag.
  EXPECT_EQ(render("{% if true %}  \nx{% endif %}"), "  \nx");
}

TEST(ChatTemplateWhitespace, LstripBlocksDropsIndentationBeforeBlockTags) {
  EXPECT_EQ(render("line1\n    {% for m in [1, 2] %}\n    item{{ m }}\n"
                   "    {% endfor %}\nend"),
            "line1\n    item1\n    item2\nend");
  // Not before {{ }}, and not when text precedes the tag on its line.
  EXPECT_EQ(render("  {{ 'v' }}\n  {% if true %}  \nx\n{% endif %}"),
            "  v\n  \nx\n");
  EXPECT_EQ(render("a  {% if true %}b{% endif %}"), "a  b");
}

TEST(ChatTemplateWhitespace, MinusStripsAndPlusKeeps) {
  EXPECT_EQ(render("a {%- if true %} b {% endif -%} c"), "a b c");
  EXPECT_EQ(render("{{ 'a' -}}\n   b {{- 'c' }}"), "abc");
  EXPECT_EQ(render("x\n  {%- if true -%}\n   y\n   {%- endif %}"), "xy");
  EXPECT_EQ(render("a\n   {%+ if true %}y{% endif +%}\nz"), "a\n   y\nz");
  EXPECT_EQ(render("{{ 'a' }}{%- raw -%}  r  {%- endraw -%}  y"), "ary");
  EXPECT_EQ(render("a {#- c -#} b"), "ab");
}

TEST(ChatTemplateWhitespace, NewlinesNormalizedAndOneTrailingNewlineDropped) {
  EXPECT_EQ(render("a\r\nb\rc\n"), "a\nb\nc");
  EXPECT_EQ(render("x\n\n"), "x\n");
}

// --- Errors -------------------------------------------------------------------

TEST(ChatTemplateErrors, UnterminatedTags) {
  EXPECT_EQ(error("ab{{ x"), "1:3: unterminated tag: '{{' without '}}'");
  EXPECT_EQ(error("a\n{% if x"), "2:1: unterminated tag: '{%' without '%}'");
  EXPECT_EQ(error("{# never closed"),
            "1:1: unterminated comment: '{#' without '#}'");
  EXPECT_EQ(error("{{ 'abc }}"), "1:4: unterminated string literal");
  EXPECT_EQ(error("x\n  {% if true %}a"),
            "2:3: 'if' block is never closed (expected 'elif', 'else' or "
            "'endif' before the end of the template)");
  EXPECT_EQ(error("{% for x in y %}"),
            "1:1: 'for' block is never closed (expected 'endfor' or 'else' "
            "before the end of the template)");
  EXPECT_EQ(error("{% raw %}x"),
            "1:1: unterminated raw block: '{% raw %}' without '{% endraw %}'");
  EXPECT_EQ(error("{{ (1 }}"), "1:7: unexpected '}', expected ')'");
}

TEST(ChatTemplateErrors, SyntaxErrors) {
  EXPECT_EQ(error("{% endif %}"), "1:4: unexpected 'endif' (no open block takes it)");
  EXPECT_EQ(error("{% frobnicate %}"), "1:4: unknown tag 'frobnicate'");
  EXPECT_EQ(error("{% include 'x' %}"),
            "1:4: the 'include' tag is not supported in chat templates");
  EXPECT_EQ(error("{{ }}"),
            "1:4: expected an expression, got end of print statement '}}'");
  EXPECT_EQ(error("{{ 1 + }}"),
            "1:8: expected an expression, got end of print statement '}}'");
  EXPECT_EQ(error("{% break %}"), "1:4: 'break' outside of a loop");
  EXPECT_EQ(error("{{ '\\x4' }}"), "1:5: truncated \\x escape in string literal");
  EXPECT_EQ(error("{{ 99999999999999999999 }}"),
            "1:4: integer literal too large (templates use 64-bit integers)");
  EXPECT_EQ(error("{{ a $ b }}"), "1:6: unexpected character '$' in tag");
}

TEST(ChatTemplateErrors, UnknownFiltersAndTests) {
  EXPECT_EQ(error("{{ x | frobnicate }}"), "1:8: unknown filter 'frobnicate'");
  EXPECT_EQ(error("{{ x is frobnicated }}"), "1:9: unknown test 'frobnicated'");
  // As in jinja2, inside an if they fail only when reached.
  EXPECT_EQ(render("{% if false %}{{ x | frobnicate }}{% endif %}ok"), "ok");
  EXPECT_EQ(error("{% if true %}{{ x | frobnicate }}{% endif %}"),
            "1:21: unknown filter 'frobnicate'");
}

TEST(ChatTemplateErrors, RaiseException) {
  EXPECT_EQ(error("{{ raise_exception('Roles must alternate') }}"),
            "1:4: raise_exception: Roles must alternate");
  std::string e = error("{% for m in messages %}\n"
                        "{% if m.role == 'assistant' %}\n"
                        "  {{- raise_exception('no assistant: ' ~ m.content) }}\n"
                        "{% endif %}{% endfor %}");
  EXPECT_EQ(e, "3:7: raise_exception: no assistant:  Hello! ");
}

TEST(ChatTemplateErrors, RuntimeErrorsNameThePosition) {
  EXPECT_EQ(error("{{ x.y }}"), "1:5: 'x' is undefined");
  EXPECT_EQ(error("{{ {}.a + 1 }}"), "1:9: 'dict object' has no attribute 'a'");
  EXPECT_EQ(error("{{ 'a' + 1 }}"),
            "1:8: can only concatenate str (not \"int\") to str");
  EXPECT_EQ(error("{{ 1 / 0 }}"), "1:6: division by zero");
  EXPECT_EQ(error("{{ 1 < 'a' }}"),
            "1:8: '<' not supported between instances of 'int' and 'str'");
  EXPECT_EQ(error("{% for x in none %}{% endfor %}"),
            "1:13: 'NoneType' object is not iterable");
  EXPECT_EQ(error("{% set d = {} %}{% set d.a = 1 %}"),
            "1:17: cannot assign attribute on non-namespace object");
  EXPECT_EQ(error("{{ 'abc'.split('') }}"), "1:9: empty separator");
  EXPECT_EQ(error("{{ 9223372036854775807 + 1 }}"),
            "1:24: integer overflow (chat templates use 64-bit integers)");
}

TEST(ChatTemplateErrors, BadInput) {
  EXPECT_EQ(error("\xff"), "template is not valid UTF-8");
  ChatTemplateContext c;
  c.messages = {{"user", "ok"}, {"user", "bad \xc3"}};
  EXPECT_EQ(error("{{ messages }}", c), "message 1 is not valid UTF-8");
}

// --- Limits -------------------------------------------------------------------

TEST(ChatTemplateLimits, OutputSize) {
  EXPECT_TRUE(contains(
      error("{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}"),
      "rendered text longer than 1048576 bytes"));
  EXPECT_TRUE(contains(error("{{ 'x' * 2000000 }}"),
                       "string repetition makes a string longer than"));
  EXPECT_TRUE(contains(error("{% set ns = namespace(s='xx') %}"
                             "{% for i in range(40) %}"
                             "{% set ns.s = ns.s + ns.s %}{% endfor %}"),
                       "string longer than 1048576 bytes"));
  EXPECT_TRUE(contains(error("{{ [1] * 10000000 }}"),
                       "list repetition makes a list longer than"));
}

TEST(ChatTemplateLimits, LoopIterations) {
  EXPECT_TRUE(contains(error("{% for i in range(100000) %}{% for j in "
                             "range(100000) %}{% endfor %}{% endfor %}"),
                       "too many loop iterations"));
  EXPECT_TRUE(contains(error("{{ range(1000000) }}"), "range too big"));
}

TEST(ChatTemplateLimits, Recursion) {
  EXPECT_TRUE(contains(error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}"
                             "{{ f(0) }}"),
                       "template recursion too deep"));
  std::string parens(10000, '(');
  EXPECT_TRUE(contains(error("{{ " + parens + "1"), "nested too deeply"));
  std::string nots;
  for (int i = 0; i < 5000; ++i)
    nots += "not ";
  EXPECT_TRUE(contains(error("{{ " + nots + "x }}"), "nested too deeply"));
  std::string sum = "{{ 1";
  for (int i = 0; i < 5000; ++i)
    sum += " + 1";
  EXPECT_TRUE(contains(error(sum + " }}"), "expression nested too deeply"));
  std::string ifs;
  for (int i = 0; i < 5000; ++i)
    ifs += "{% if true %}";
  EXPECT_TRUE(contains(error(ifs), "nested too deeply"));
}

TEST(ChatTemplateLimits, SelfReferenceIsAnErrorNotACrash) {
  EXPECT_TRUE(contains(error("{% set ns = namespace() %}{% set ns.self = ns %}"
                             "{{ ns }}"),
                       "value nested too deeply"));
  EXPECT_TRUE(contains(error("{% set ns = namespace() %}"
                             "{% set ns.l = [ns] %}{{ ns == ns.l[0] }}"
                             "{{ ns.l|tojson }}"),
                       "not JSON serializable"));
}

TEST(ChatTemplateLimits, Work) {
  // Each iteration copies a 1 MiB string: stopped by the work budget long
  // before a million iterations.
  EXPECT_TRUE(contains(error("{% set big = 'x' * 1000000 %}"
                             "{% for i in range(100000) %}{% for j in "
                             "range(10) %}{% set c = big ~ '' %}{% endfor %}"
                             "{% endfor %}"),
                       "template does too much work"));
}

TEST(ChatTemplateLimits, SharedValuesCannotBlowUp) {
  // A list holding the same 1 MB string 100000 times is cheap to build but
  // must not be printed, serialized or compared in full.
  const std::string big = "{% set s = 'x' * 1000000 %}{% set l = [s] * 100000 %}";
  EXPECT_TRUE(contains(error(big + "{{ l }}"), "value too large to print"));
  EXPECT_TRUE(contains(error(big + "{{ l|tojson }}"), "value too large to print"));
  EXPECT_TRUE(contains(error(big + "{% set m = [s ~ ''] * 100000 %}{{ l == m }}"),
                       "template does too much work"));
  // Quadratic substring searches are charged as such.
  EXPECT_TRUE(contains(error("{% set h = 'a' * 1000000 %}{% set n = 'a' * 500000 "
                             "~ 'b' %}{{ n in h }}"),
                       "template does too much work"));
  // Empty sequences repeated any number of times stay empty, at once.
  EXPECT_EQ(render("{{ 'y'[1:] * 1000000000 }}|{{ [] * 1000000000 }}"), "|[]");
  // Indexing a long string counts code points each time.
  EXPECT_TRUE(contains(error("{% set s = 'x' * 1000000 %}{% for i in range(100000) %}"
                             "{{ s[i] }}{% endfor %}"),
                       "too much work"));
}

TEST(ChatTemplateLimits, SourceSize) {
  EXPECT_EQ(error(std::string(2 << 20, 'x')), "template is larger than 1 MiB");
}

// --- API ----------------------------------------------------------------------

TEST(ChatTemplateApi, RenderManyTimesFromManyThreads) {
  auto parsed = ChatTemplate::parse(
      "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}"
      "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}"
      "<|im_start|>assistant\n{% endif %}");
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  const ChatTemplate &t = *parsed.value();
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      ChatTemplateContext c;
      c.messages = {{"user", "n" + std::to_string(i)}};
      c.addGenerationPrompt = i % 2 == 0;
      auto r = t.render(c);
      results[i] = r.ok() ? r.value() : r.message();
    });
  for (auto &th : threads)
    th.join();
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(results[i], "<|im_start|>user\nn" + std::to_string(i) +
                              "<|im_end|>\n" +
                              (i % 2 == 0 ? "<|im_start|>assistant\n" : ""));
}
