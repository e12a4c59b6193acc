# HealthScoring: the two commands that matter are `make demo` and `make test`; both do all the set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help demo demo-stop test bench soak build services-up services-down services-status clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

demo: services-up ## Start services, then run the end-to-end demo (leaves the API and dashboard running)
	scripts/demo.sh

demo-stop: ## Stop the API host and fake integrations the demo left running
	scripts/demo.sh stop

test: ## Start services, build, run every test project; prints "tests: N passed, M failed"
	scripts/test.sh

bench: ## Run the benchmarks (with their reference baselines); writes bench-results/latest.json
	scripts/bench.sh

soak: ## 10 min of mixed load on the API host (SOAK_ARGS="--duration 90" for less); fails on RSS growth or errors
	scripts/bench.sh --only soak.mixed $(SOAK_ARGS)

build: ## Build the whole solution (Release)
	dotnet build HealthScoring.sln -c Release -nologo

services-up: ## Install if missing and start PostgreSQL and RabbitMQ on 127.0.0.1
	scripts/services.sh up

services-down: ## Stop what services-up started
	scripts/services.sh down

services-status: ## Show whether the services run
	scripts/services.sh status

clean: ## Remove build outputs and results (not the services' data)
	dotnet clean HealthScoring.sln -nologo -v quiet
	rm -rf test-results bench-results
