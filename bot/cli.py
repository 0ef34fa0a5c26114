"""complaint-bot: the command line."""
from __future__ import annotations

import logging

import click

from bot.runtime import classifier_or_exit, database_errors_explained, ready_services, settings_or_exit, setup_logging

log = logging.getLogger("bot")

config_option = click.option("--config", "config_path", envvar="COMPLAINT_BOT_CONFIG",
                             type=click.Path(dir_okay=False), help="配置文件路径（默认 ./config.yaml）")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """后勤投诉助手 — 企业微信投诉处理机器人。"""


@main.command()
@config_option
@click.option("--host", help="监听地址（默认取配置 server.host）")
@click.option("--port", type=int, help="监听端口（默认取配置 server.port）")
@click.option("--worker/--no-worker", default=True, help="是否在本进程内运行后台发送（多进程部署时关掉，另起 worker）")
def serve(config_path, host, port, worker) -> None:
    """运行正式服务（waitress WSGI 服务器）。"""
    from bot.server import serve_forever

    setup_logging()
    settings = settings_or_exit(config_path)
    classifier_or_exit(settings)
    services = ready_services(settings)
    serve_forever(services, host or settings.server.host, port or settings.server.port, with_worker=worker)


@main.command()
@config_option
def worker(config_path) -> None:
    """只运行后台发送（outbox 推送与附件下载），用于多进程部署。"""
    from bot.worker import Worker

    _run_standalone(config_path, "独立 worker", lambda services: Worker(services).run_forever())


@main.command()
@config_option
def scheduler(config_path) -> None:
    """只运行定时任务（时限提醒、逐级督办、回访），用于多进程部署；可以同时运行多个，不会重复提醒。"""
    from bot.scheduler import run_blocking

    _run_standalone(config_path, "独立的定时任务进程", run_blocking)


def _run_standalone(config_path, what: str, run) -> None:
    """A process of a multi-process deployment: it shares Redis with the others."""
    setup_logging()
    services = ready_services(settings_or_exit(config_path), migrate=False)
    if services.embedded_redis:
        raise click.ClickException(f"{what}需要共享的 Redis：请设置 REDIS_URL")
    try:
        run(services)
    except KeyboardInterrupt:
        pass


@main.command("check-config")
@config_option
def check_config(config_path) -> None:
    """检查配置文件；无误时打印 OK。"""
    from datetime import date

    from bot.workcalendar import WorkCalendar

    settings = settings_or_exit(config_path)
    classifier_or_exit(settings)
    this_year = date.today().year
    unknown = WorkCalendar.from_settings(settings).unknown_years([this_year, this_year + 1])
    for year in unknown:
        click.echo(f"警告：chinesecalendar 没有 {year} 年的法定节假日数据，该年按周一至周五上班计算"
                   "（加上 calendar.holidays / calendar.workdays）。请升级 chinesecalendar 或手工补充。")
    click.echo(f"OK（{settings.source}）")


@main.command()
@config_option
@click.option("--from", "start", metavar="YYYY-MM-DD", help="起始日期（默认截止日期前 6 天，即共 7 天）")
@click.option("--to", "end", metavar="YYYY-MM-DD", help="截止日期，含当天（默认今天）")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), help="同时导出 Excel 工作簿到此文件")
def report(config_path, start, end, xlsx_path) -> None:
    """汇总报表：投诉量、分布、热点、及时率、满意度等（默认最近 7 天）。"""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot import reports

    setup_logging("WARNING")
    settings = settings_or_exit(config_path)
    try:
        first, last = reports.parse_period(start, end, datetime.now(ZoneInfo(settings.timezone)).date())
    except ValueError as error:
        click.echo(f"日期有误：{error}", err=True)
        raise SystemExit(2) from None
    services = ready_services(settings)
    try:
        with services.db.session() as session:
            summary = reports.build_report(session, services, first, last)
            rows = reports.complaint_rows(session, services, first, last) if xlsx_path else []
        # Whoever runs the command administers the system: the people view is included.
        click.echo(reports.render_text(summary, include_people=True), nl=False)
        if xlsx_path:
            reports.write_xlsx(summary, rows, xlsx_path, include_people=True)
            click.echo(f"\n已导出 Excel：{xlsx_path}（{len(rows)} 条明细）")
    finally:
        services.close()


@main.group()
def db() -> None:
    """数据库维护。"""


@db.command("upgrade")
@config_option
def db_upgrade(config_path) -> None:
    """把数据库结构升级到最新版本。"""
    from bot.db import Database

    setup_logging()
    settings = settings_or_exit(config_path)
    database = Database(settings.database_url)
    with database_errors_explained(settings):
        database.upgrade()
        click.echo(f"数据库已是最新版本（{database.current_revision()}）")


@main.group()
def directory() -> None:
    """通讯录（部门、成员、负责人）。"""


@directory.command("sync")
@config_option
def directory_sync(config_path) -> None:
    """立即从企业微信通讯录同步部门与负责人（需在配置中开启 directory.sync.enabled）。"""
    from bot.directory_sync import staff_departments, sync_directory

    setup_logging()
    services = ready_services(settings_or_exit(config_path), migrate=False)
    if not services.settings.directory.sync.enabled:
        click.echo("提示：directory.sync.enabled 未开启，同步结果不会被使用。", err=True)
    snapshot = sync_directory(services.wecom, services.redis, services.settings.redis_prefix,
                              staff_departments(services.settings))
    click.echo(f"已同步 {len(snapshot['departments'])} 个部门、{len(snapshot['names'])} 人")


@main.command()
@click.option("--keep", is_flag=True, help="保留演示用的临时目录（数据库与照片）")
@click.option("--serve", is_flag=True, help="演示结束后让服务继续运行，便于在浏览器里打开管理后台")
def demo(keep, serve) -> None:
    """演示：在内置默认配置上启动服务和模拟的企业微信，走一遍真实的加密对话。"""
    from bot.demo import run_demo

    setup_logging("WARNING")
    raise SystemExit(run_demo(keep=keep, serve=serve))


@main.command()
@config_option
@click.option("--user", default="chat.user", help="以哪个企业微信账号的身份对话")
def chat(config_path, user) -> None:
    """在终端里以投诉人的身份和配置好的助手对话（用配置里的话术、常见问题、分派与词表；
    企业微信换成本机模拟，数据库用临时文件，不动正式数据）。"""
    from bot.chat import run_chat

    setup_logging("WARNING")
    raise SystemExit(run_chat(settings_or_exit(config_path), user))


@main.command()
@click.option("--extra-dir", type=click.Path(file_okay=False), help="管理员补充词表所在目录")
def classify(extra_dir) -> None:
    """分类：从标准输入每行读一条投诉，每行输出一个 JSON。"""
    import sys

    from bot.classify import Classifier, classify_lines

    setup_logging("WARNING")
    classify_lines(Classifier.load(extra_dir), sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
