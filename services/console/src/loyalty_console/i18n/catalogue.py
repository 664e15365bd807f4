"""Every text the console shows, in English and Simplified Chinese: key → (en, zh-CN).
`{name}` marks a value filled in. tests/console/test_catalogue.py checks that every key the
templates and code use is here, in both languages, with the same placeholders."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # the frame
    "app.name": ("Loyalty console", "会员运营台"),
    "app.skip": ("Skip to content", "跳到正文"),
    "nav.label": ("Pages", "页面"),
    "nav.overview": ("Overview", "概览"),
    "nav.members": ("Members", "会员"),
    "nav.program": ("Program", "积分方案"),
    "nav.rewards": ("Rewards", "奖励"),
    "nav.feedback": ("Feedback", "反馈"),
    "nav.loyalty": ("Loyalty", "忠诚度"),
    "nav.dead_letters": ("Dead letters", "死信"),
    "prefs.language": ("Language", "语言"),
    "prefs.time_zone": ("Time zone", "时区"),
    "prefs.apply": ("Apply", "应用"),
    "role.support": ("Support", "客服"),
    "role.marketing": ("Marketing", "市场"),
    "role.finance": ("Finance", "财务"),
    "role.admin": ("Admin", "管理员"),
    "error.title": ("Something went wrong ({status})", "出错了（{status}）"),
    "error.back": ("Back to the overview", "返回概览"),
    "common.week": ("Week", "周"),
    "common.month": ("Month", "月份"),
    "common.when": ("When", "时间"),
    "common.who": ("Who", "操作人"),
    "common.details": ("Details", "详情"),
    "common.reason": ("Reason", "原因"),
    "common.status": ("Status", "状态"),
    "common.none": ("None yet.", "暂无。"),
    "common.older": ("Older", "更早"),
    "common.newest": ("Newest", "最新"),
    "common.cancel": ("Cancel", "取消"),
    "common.confirm": ("Confirm", "确认"),
    "common.review": ("Review", "检查"),
    "common.save": ("Save", "保存"),
    "common.days": ("Days", "天数"),
    "common.channel": ("Channel", "渠道"),
    "common.all": ("All", "全部"),
    "chart.numbers": ("The numbers", "数据表"),
    # panels that could not be filled
    "panel.not_offered_title": ("Not available yet.", "暂不可用。"),
    "panel.not_offered": (
        "This version of the platform does not offer {what}.",
        "当前平台版本尚未提供{what}。",
    ),
    "panel.refused": ("Your role may not see {what}.", "您的角色无权查看{what}。"),
    "panel.unavailable": (
        "{what} could not be loaded: the service did not answer.",
        "{what}无法加载：服务没有响应。",
    ),
    # signing in
    "auth.sign_in": ("Sign in", "登录"),
    "auth.sign_out": ("Sign out", "退出"),
    "auth.sso": ("Sign in with your company account", "使用公司账号登录"),
    "auth.sso_hint": (
        "Your roles come from your company account.",
        "您的角色由公司账号授予。",
    ),
    "auth.dev_title": ("Development sign-in", "开发环境登录"),
    "auth.dev_hint": (
        "Only on a developer's machine: pick a role to act as.",
        "仅限开发者本机：选择一个角色登录。",
    ),
    "auth.dev_name": ("Your name", "您的名字"),
    "auth.dev_name_hint": ("As the audit log records it", "将记入审计日志"),
    "auth.dev_role": ("Sign in as", "登录角色"),
    # tiers
    "tier.tier": ("Tier", "等级"),
    "tier.bronze": ("Bronze", "铜卡"),
    "tier.silver": ("Silver", "银卡"),
    "tier.gold": ("Gold", "金卡"),
    "tier.platinum": ("Platinum", "白金卡"),
    # points
    "points.points": ("Points", "积分"),
    "points.earned": ("Earned", "发放"),
    "points.redeemed": ("Redeemed", "兑换"),
    "points.expired": ("Expired", "过期"),
    # NPS
    "nps.nps": ("NPS", "净推荐值"),
    "nps.responses": ("Responses", "回答数"),
    # overview
    "overview.members": ("Members", "会员"),
    "overview.members_all": ("Members", "会员数"),
    "overview.active_30": ("Active, 30 days", "近 30 天活跃"),
    "overview.active_90": ("Active, 90 days", "近 90 天活跃"),
    "overview.tier_mix": ("Members by tier", "各等级会员"),
    "overview.points_flow": ("Points per week", "每周积分"),
    "overview.points_flow_caption": (
        "Points earned, redeemed and expired per ISO week",
        "每个 ISO 周发放、兑换和过期的积分",
    ),
    "overview.nps_weekly": ("NPS per week", "每周净推荐值"),
    "overview.nps_weekly_caption": (
        "NPS per ISO week (line) and the responses behind it (bars)",
        "每个 ISO 周的净推荐值（折线）及回答数（柱）",
    ),
    "overview.dead_letters": ("Dead letters, last 24 hours", "近 24 小时死信"),
    "overview.no_dead_letters": ("No dead letters in the last 24 hours.", "近 24 小时没有死信。"),
    # liability
    "liability.title": ("Points liability", "积分负债"),
    "liability.liability": ("Liability", "负债"),
    "liability.breakage": ("Breakage", "沉淀率"),
    "liability.outstanding": ("Points outstanding", "未兑积分"),
    "liability.expiring": ("Expiring", "将过期"),
    "liability.as_of": (
        "As of {when}; one point is worth {value}.",
        "截至 {when}；每积分价值 {value}。",
    ),
    "liability.expiring_caption": ("Points expiring per month", "每月将过期的积分"),
    # dead letters
    "dlq.service": ("Service", "服务"),
    "dlq.topic": ("Topic", "主题"),
    "dlq.reason": ("Reason", "原因"),
    "dlq.count": ("Count", "数量"),
    "dlq.latest": ("Latest", "最近"),
    "dlq.of_service": ("the dead letters of {service}", "{service} 的死信"),
    # members
    "members.find": ("Find a member", "查找会员"),
    "members.member_id": ("Member id", "会员编号"),
    "members.open": ("Open", "打开"),
}
