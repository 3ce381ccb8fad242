#!/usr/bin/env python3
# checklint.py -- find scenario checks that assert less than they say.
#
#   checklint.py FILE...
#
# cw_check DESC COMMAND... runs COMMAND and records a failure when it
# fails; cw_expect DESC FILE FILTER the same for a jq filter.  What
# follows the call on the same command line is not part of the check:
#
#	cw_check "a and b" [ "$a" = 1 ] &&
#	    [ "$b" = 2 ]
#
# asserts a only: the shell runs [ "$b" = 2 ] after cw_check returned
# and nobody looks at its status, so "ok: a and b" is printed whatever
# b is.  This script reads shell scripts (continuation lines, quotes,
# $(...), comments and here-documents as bash reads them) and prints
# FILE:LINE for every cw_check or cw_expect followed, on its command
# line, by
#	&&	and then any command but another check, cw_log, cw_die or
#		a jump (break, continue, return, exit): `&& [ b ]`,
#		`&& grep -q b log`, `&& { ...; }` run only when the check
#		passed, and are asserted by nobody;
#	;	and then a test ([, [[, test, ((, ! TEST) or a { } or ( )
#		group, which reads as part of the check and is not;
#	||	and then a test, or a group that starts with one (a failure
#		action such as `|| cat log >&2` or `|| { cat log; cw_die; }`
#		is fine);
# and every check in a pipeline (`cw_check ... | tee`, `... | cw_check`):
# it runs in a subshell, so the failure it records is lost.
# Exits 1 when it found any, 2 when a file cannot be read or parsed.

import sys

CHECKS = ("cw_check", "cw_expect")
# What may follow a check after &&: more checks, or a way out.
AFTER_PASS = CHECKS + ("cw_log", "cw_die", "break", "continue", "return",
                       "exit")
TESTS = ("[", "[[", "test")
# Words after which the next word is a command name.
LEADERS = ("!", "{", "then", "do", "else", "elif", "if", "while", "until",
           "time")
COMMAND_OPS = (";", "&&", "||", "|", "|&", "&", ";;", ";&", ";;&", "(",
               "nl")
METACHARS = " \t\n;&|()<>"


class ParseError(Exception):
    pass


class Lexer:
    """Split a bash script into words, operators and newlines.

    A token is (kind, text, line): kind "word", "op" (control operators,
    "(" and ")"), "redir" (a redirection operator) or "nl".  Quoted text
    and substitutions stay inside their word; here-document bodies and
    comments are dropped; a backslash-newline joins lines."""

    def __init__(self, text):
        self.s = text
        self.i = 0
        self.line = 1
        self.tokens = []
        self.heredocs = []

    def peek(self, k=0):
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def advance(self, n=1):
        for _ in range(n):
            if self.i < len(self.s) and self.s[self.i] == "\n":
                self.line += 1
            self.i += 1

    def run(self):
        while self.i < len(self.s):
            c = self.peek()
            if c == "\\" and self.peek(1) == "\n":
                self.advance(2)
            elif c in " \t":
                self.advance()
            elif c == "\n":
                self.tokens.append(("nl", "\n", self.line))
                self.advance()
                self.read_heredocs()
            elif c == "#":
                while self.i < len(self.s) and self.peek() != "\n":
                    self.advance()
            elif c in "<>" and self.peek(1) == "(":
                self.word()
            elif c in "<>" or (c == "&" and self.peek(1) == ">"):
                self.redirection()
            elif c in ";&|()":
                self.operator()
            else:
                self.word()
        if self.heredocs:
            raise ParseError("here-document %s not closed" %
                             self.heredocs[0][0])
        return self.tokens

    def operator(self):
        line = self.line
        for op in (";;&", ";;", ";&", "&&", "||", "|&", ";", "&", "|",
                   "(", ")"):
            if self.s.startswith(op, self.i):
                self.advance(len(op))
                self.tokens.append(("op", op, line))
                return

    def redirection(self):
        line = self.line
        for op in ("<<<", "<<-", "<<", "&>>", "&>", ">>", ">&", "<&",
                   ">|", "<>", "<", ">"):
            if self.s.startswith(op, self.i):
                self.advance(len(op))
                self.tokens.append(("redir", op, line))
                break
        if op in ("<<", "<<-"):
            while self.peek() in " \t":
                self.advance()
            start = len(self.tokens)
            self.word()
            delim = self.tokens[start][1]
            plain = delim.replace('"', "").replace("'", "").replace("\\", "")
            self.heredocs.append((plain, op == "<<-"))

    def read_heredocs(self):
        for delim, strip_tabs in self.heredocs:
            while True:
                if self.i >= len(self.s):
                    raise ParseError("here-document %s not closed" % delim)
                end = self.s.find("\n", self.i)
                if end < 0:
                    end = len(self.s)
                body = self.s[self.i:end]
                self.advance(end - self.i + 1)
                if (body.lstrip("\t") if strip_tabs else body) == delim:
                    break
        self.heredocs = []

    def word(self):
        line = self.line
        start = self.i
        while self.i < len(self.s):
            c = self.peek()
            if c == "\\":
                self.advance(2)
            elif c == "'":
                self.single_quoted()
            elif c == '"':
                self.double_quoted()
            elif c == "`":
                self.backquoted()
            elif c == "$":
                self.dollar()
            elif c in "<>" and self.peek(1) == "(" and self.i == start:
                self.advance()
                self.balanced("(", ")")
            elif c in METACHARS:
                break
            else:
                self.advance()
        self.tokens.append(("word", self.s[start:self.i], line))

    def single_quoted(self):
        end = self.s.find("'", self.i + 1)
        if end < 0:
            raise ParseError("line %d: ' not closed" % self.line)
        self.advance(end + 1 - self.i)

    def double_quoted(self):
        line = self.line
        self.advance()
        while self.i < len(self.s):
            c = self.peek()
            if c == "\\":
                self.advance(2)
            elif c == '"':
                self.advance()
                return
            elif c == "`":
                self.backquoted()
            elif c == "$":
                self.dollar()
            else:
                self.advance()
        raise ParseError('line %d: " not closed' % line)

    def escaped_until(self, end, what):
        # At the opening character: skip to `end`, a backslash escaping
        # the character after it (backquotes and $'...' alike).
        line = self.line
        self.advance()
        while self.i < len(self.s):
            c = self.peek()
            if c == "\\":
                self.advance(2)
            elif c == end:
                self.advance()
                return
            else:
                self.advance()
        raise ParseError("line %d: %s not closed" % (line, what))

    def backquoted(self):
        self.escaped_until("`", "`")

    def dollar(self):
        nxt = self.peek(1)
        if nxt == "'":
            self.advance()
            self.ansi_quoted()
        elif nxt == "(":
            self.advance()
            self.balanced("(", ")")
        elif nxt == "{":
            self.advance()
            self.balanced("{", "}")
        else:
            self.advance()

    def ansi_quoted(self):
        self.escaped_until("'", "$'")

    def balanced(self, open_, close):
        # At open_: skip to its matching close, over quotes, nested
        # substitutions and comments (a case pattern's ")" inside
        # $(...) is not handled; the tests have none).
        line = self.line
        depth = 0
        at_word_start = True
        while self.i < len(self.s):
            c = self.peek()
            if c == "\\":
                self.advance(2)
                at_word_start = False
                continue
            if c == "'" and open_ == "(":
                self.single_quoted()
            elif c == "'":
                self.advance()
            elif c == '"':
                self.double_quoted()
            elif c == "`":
                self.backquoted()
            elif c == "$" and self.peek(1) in "({'":
                self.dollar()
            elif c == "#" and at_word_start and open_ == "(":
                while self.i < len(self.s) and self.peek() != "\n":
                    self.advance()
            elif c == open_:
                depth += 1
                self.advance()
            elif c == close:
                depth -= 1
                self.advance()
                if depth == 0:
                    return
            else:
                self.advance()
            at_word_start = c in " \t\n;&|("
        raise ParseError("line %d: %s not closed" % (line, open_))


def command_start(tokens, k):
    """True when tokens[k] is in the place of a command name."""
    if k == 0:
        return True
    kind, text, _ = tokens[k - 1]
    if kind in ("op", "nl"):
        return text in COMMAND_OPS or kind == "nl"
    return kind == "word" and text in LEADERS and command_start(tokens, k - 1)


def next_command(tokens, j):
    """Index of the first token of the command after tokens[j], skipping
    the newlines bash allows after && and ||."""
    j += 1
    if tokens[j - 1][1] in ("&&", "||"):
        while j < len(tokens) and tokens[j][0] == "nl":
            j += 1
    return j


def is_test(tokens, j):
    """True when tokens[j] starts a test command."""
    if j >= len(tokens):
        return False
    kind, text, _ = tokens[j]
    if kind == "word" and text == "!":
        return is_test(tokens, j + 1)
    if kind == "word" and text in TESTS:
        return True
    # (( ... )) is lexed as two "(" operators.
    return (kind == "op" and text == "(" and j + 1 < len(tokens) and
            tokens[j + 1][:2] == ("op", "("))


def is_group(tokens, j):
    if j >= len(tokens):
        return False
    return tokens[j][:2] in (("word", "{"), ("op", "("))


def lint(path):
    """The findings in one file, as (line, message)."""
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        tokens = Lexer(f.read()).run()
    found = []
    for k, (kind, text, line) in enumerate(tokens):
        if kind != "word" or text not in CHECKS or \
                not command_start(tokens, k):
            continue
        if k > 0 and tokens[k - 1][:2] in (("op", "|"), ("op", "|&")):
            found.append((line, "... | %s: in a pipeline it runs in a "
                          "subshell, and its failure is lost" % text))
            continue
        j = k + 1
        while j < len(tokens) and tokens[j][0] in ("word", "redir"):
            j += 1
        if j >= len(tokens) or tokens[j][0] != "op":
            continue
        op = tokens[j][1]
        if op in ("|", "|&"):
            found.append((line, "%s ... %s: in a pipeline it runs in a "
                          "subshell, and its failure is lost" % (text, op)))
            continue
        if op not in ("&&", "||", ";"):
            continue
        n = next_command(tokens, j)
        bad = is_test(tokens, n)
        if op == "&&":
            bad = n >= len(tokens) or \
                tokens[n][:2] not in [("word", w) for w in AFTER_PASS]
        if op == ";" and is_group(tokens, n):
            bad = True
        if op == "||" and is_group(tokens, n):
            bad = is_test(tokens, n + 1)
        if bad:
            what = tokens[n][1] if n < len(tokens) else ""
            if what == "!" and n + 1 < len(tokens):
                what = "! " + tokens[n + 1][1]
            found.append((line, "%s ... %s %s (line %d): asserted by "
                          "nobody; make it a check of its own" %
                          (text, op, what, tokens[n][2])))
    return found


def main(paths):
    status = 0
    for path in paths:
        try:
            found = lint(path)
        except (OSError, ParseError) as e:
            print("%s: cannot lint: %s" % (path, e), file=sys.stderr)
            status = 2
            continue
        for line, msg in found:
            print("%s:%d: %s" % (path, line, msg))
            status = max(status, 1)
    return status


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: checklint.py FILE...")
    sys.exit(main(sys.argv[1:]))
