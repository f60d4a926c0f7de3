# The two commands of the README:
#   make         set up .venv, build the book, release the assignments, grade the examples
#   make test    set up .venv, lint, build the book and run the whole test suite
VENV        := .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
ASSIGNMENTS := $(notdir $(wildcard solutions/a*))
EXAMPLES    := $(notdir $(wildcard tests/submissions/a*))
GRADES      := _build/grades
WORKERS     ?= 2

.PHONY: all setup book release grade-examples test lint clean

all: book release grade-examples
	@echo
	@echo "Book:        _build/html/index.html"
	@for a in $(EXAMPLES); do \
	  echo "Gradebook:   $(GRADES)/$$a/grades.csv   feedback: $(GRADES)/$$a/feedback/   report: $(GRADES)/$$a/report/index.html"; \
	done

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

book: setup
	$(BIN)/jupyter-book build . -W -n --keep-going

release: setup
	@for a in $(ASSIGNMENTS); do $(BIN)/autograder release $$a || exit 1; done

grade-examples: setup
	@for a in $(EXAMPLES); do \
	  $(BIN)/autograder grade $$a tests/submissions/$$a --out $(GRADES)/$$a --workers $(WORKERS) || exit 1; \
	  $(BIN)/autograder report $(GRADES)/$$a || exit 1; \
	done

lint: setup
	$(BIN)/ruff check .

test: lint book
	$(BIN)/python -m pytest -q

clean:
	rm -rf _build
