#!/usr/bin/python3
"""Renders chat templates with jinja2 the way Hugging Face transformers does
and compares the result byte for byte with llmc's renderer.

    compare_jinja.py --render PATH/llmc-chat-render TEMPLATE CONV.json [CONV.json...]

TEMPLATE is a Jinja file or a tokenizer_config.json (its chat_template).
Each CONV.json holds {"messages": [...], "add_generation_prompt": bool,
"bos_token": str, "eos_token": str}. When jinja2 raises (raise_exception or
any template error), llmc must fail too, and its error line must carry
raise_exception's message. Prints one line per conversation; exits 1 on any
difference.

transformers (src/transformers/utils/chat_template_utils.py) compiles
templates with
    ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                  extensions=[AssistantTracker, loopcontrols])
replaces the tojson filter with json.dumps(x, ensure_ascii=False,
indent=None, separators=None, sort_keys=False), adds the globals
raise_exception(message) and strftime_now(format), and renders with
messages, tools=None, documents=None, add_generation_prompt and the special
tokens. This script sets up the same environment (the {% generation %} tag
of AssistantTracker is rendered transparently).
"""

import argparse
import difflib
import json
import subprocess
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(jinja2.ext.Extension):
    """{% generation %}...{% endgeneration %}: renders its body unchanged."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render_body"), [], [],
                               body).set_lineno(lineno)

    def _render_body(self, caller):
        return caller()


def make_environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None,
               sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
                          separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True,
        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def read_template(path):
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            return json.load(f)["chat_template"]
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def render_jinja(source, conversation):
    """(text, None) or (None, error message)."""
    try:
        template = make_environment().from_string(source)
        text = template.render(
            messages=conversation["messages"],
            tools=None,
            documents=None,
            add_generation_prompt=conversation.get("add_generation_prompt",
                                                   True),
            bos_token=conversation.get("bos_token", ""),
            eos_token=conversation.get("eos_token", ""))
        return text, None
    except Exception as e:  # any template error: llmc must fail too
        return None, "%s: %s" % (type(e).__name__, e)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render", required=True,
                        help="path of llmc-chat-render")
    parser.add_argument("template")
    parser.add_argument("conversations", nargs="+")
    args = parser.parse_args()

    source = read_template(args.template)
    failures = 0
    for conv_path in args.conversations:
        with open(conv_path, encoding="utf-8") as f:
            conversation = json.load(f)
        expected, jinja_error = render_jinja(source, conversation)
        run = subprocess.run([args.render, args.template, conv_path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        name = "%s + %s" % (args.template.rsplit("/", 1)[-1],
                            conv_path.rsplit("/", 1)[-1])
        llmc_error = run.stderr.decode("utf-8", "replace").strip()
        if jinja_error is not None:
            message = jinja_error.split(": ", 1)[1]
            if run.returncode == 0:
                print("FAIL %s: jinja2 raised (%s) but llmc rendered" %
                      (name, jinja_error))
                failures += 1
            elif jinja_error.startswith("TemplateError") and \
                    message not in llmc_error:
                print("FAIL %s: llmc's error %r lacks jinja2's message %r" %
                      (name, llmc_error, message))
                failures += 1
            else:
                print("OK   %s (both fail: %s)" % (name, llmc_error))
            continue
        if run.returncode != 0:
            print("FAIL %s: llmc failed: %s" % (name, llmc_error))
            failures += 1
            continue
        expected_bytes = expected.encode("utf-8")
        if run.stdout != expected_bytes:
            print("FAIL %s: renderings differ" % name)
            diff = difflib.unified_diff(
                expected.splitlines(True),
                run.stdout.decode("utf-8", "replace").splitlines(True),
                "jinja2", "llmc")
            sys.stdout.writelines(repr(line) + "\n" for line in diff)
            failures += 1
            continue
        print("OK   %s (%d bytes)" % (name, len(expected_bytes)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
