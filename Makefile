# 后勤投诉助手 — developer entry points. Every target bootstraps .venv first.
.DEFAULT_GOAL := help
.PHONY: help bootstrap demo test serve chat clean

BOOTSTRAP := bash scripts/bootstrap
BOT := .venv/bin/complaint-bot
# Extra pytest arguments: make test ARGS="-k foo"
ARGS ?=

help:
	@echo "常用命令："
	@echo "  make demo    安装依赖（首次）并运行演示"
	@echo "  make test    安装依赖（首次）并运行全部测试（SQLite 与 PostgreSQL 各一轮）"
	@echo "  make serve   启动企业微信回调服务"
	@echo "  make chat    在终端里与助手对话"
	@echo "  make clean   删除虚拟环境与缓存文件（不动 data/）"

bootstrap:
	@$(BOOTSTRAP)

demo:
	@$(BOOTSTRAP) && $(BOT) demo

test:
	@$(BOOTSTRAP) && bash scripts/test $(ARGS)

serve:
	@$(BOOTSTRAP) && $(BOT) serve

chat:
	@$(BOOTSTRAP) && $(BOT) chat

clean:
	rm -rf .venv build .pytest_cache .hypothesis *.egg-info
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
