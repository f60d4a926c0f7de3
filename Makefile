# The two commands of the README:
#   make         set up .venv, build the book, release the assignments, grade the examples
#   make test    set up .venv, lint, build the book and run the whole test suite
VENV        := .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
# An assignment is a folder solutions/<id>/ with checks.py; its example submissions are
# solutions/<id>/examples/<student>/<id>.ipynb.
ASSIGNMENTS := $(patsubst solutions/%/checks.py,%,$(wildcard solutions/*/checks.py))
EXAMPLES    := $(patsubst solutions/%/examples/expected.json,%,$(wildcard solutions/*/examples/expected.json))
GRADES      := _build/grades
WORKERS     ?= 2

.PHONY: all setup book release grade-examples audit test lint clean

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
	  $(BIN)/autograder grade $$a solutions/$$a/examples --out $(GRADES)/$$a --workers $(WORKERS) || exit 1; \
	  $(BIN)/autograder report $(GRADES)/$$a || exit 1; \
	done

# Which checks catch which wrong implementations (solutions/<id>/wrong.py): _build/audit/<id>.html
audit: setup
	@for a in $(ASSIGNMENTS); do $(BIN)/autograder audit $$a --quiet || exit 1; done

lint: setup
	$(BIN)/ruff check .

test: lint book
	$(BIN)/python -m pytest -q

clean:
	rm -rf _build
