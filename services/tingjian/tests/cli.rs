//! A person's session with the client commands against `tingjian up`: register an enterprise, submit
//! demands, see the enterprise's list, merge demands into a common issue — in Chinese, as typed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Suite {
    child: Child,
    addr: String,
    token: String,
    _data: tempfile::TempDir,
}

impl Suite {
    fn start() -> Self {
        let data = tempfile::tempdir().expect("data dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_tingjian"))
            .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .env("TINGJIAN_LOG", "warn")
            .env_remove("TINGJIAN_NATS_URL")
            .stdout(Stdio::piped())
            .spawn()
            .expect("tingjian starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let serving = lines.next().expect("a line").expect("utf-8");
        let addr = serving.rsplit(' ').next().expect("address").to_owned();
        let _ready = lines.next();
        let _token_header = lines.next();
        let token = lines.next().expect("a line").expect("utf-8");
        std::thread::spawn(move || for _ in lines {});
        Self { child, addr, token, _data: data }
    }

    fn run(&self, args: &[&str]) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_tingjian"))
            .args(args)
            .env("TINGJIAN_ADDR", &self.addr)
            .env("TINGJIAN_TOKEN", &self.token)
            .output()
            .expect("runs");
        assert!(output.status.success(), "tingjian {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8")
    }

    /// A development token for `subject` of `organisation` holding `role`.
    fn token_for(&self, subject: &str, organisation: &str, role: &str) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_tingjian"))
            .args(["token", "--role", role, "--subject", subject, "--organisation", organisation, "--data-dir"])
            .arg(self._data.path())
            .output()
            .expect("runs");
        assert!(output.status.success(), "tingjian token failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
    }

    /// Runs `args` with `token`.
    fn run_with(&self, token: &str, args: &[&str]) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_tingjian"))
            .args(args)
            .env("TINGJIAN_ADDR", &self.addr)
            .env("TINGJIAN_TOKEN", token)
            .output()
            .expect("runs");
        assert!(output.status.success(), "tingjian {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8")
    }

    fn fail(&self, args: &[&str]) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_tingjian"))
            .args(args)
            .env("TINGJIAN_ADDR", &self.addr)
            .env("TINGJIAN_TOKEN", &self.token)
            .output()
            .expect("runs");
        assert!(!output.status.success(), "tingjian {args:?} should fail");
        String::from_utf8(output.stderr).expect("utf-8")
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn a_session_from_enterprise_to_common_issue() {
    let suite = Suite::start();

    let refused = suite.fail(&[
        "enterprise",
        "register",
        "--name",
        "舟山市海之味远洋渔业有限公司",
        "--credit-code",
        "91350100M000100Y44",
        "--district",
        "普陀区",
        "--industry",
        "远洋渔业",
    ]);
    assert!(refused.contains("enterprise.credit_code"), "{refused}");

    let registered = suite.run(&[
        "enterprise",
        "register",
        "--name",
        "舟山市海之味远洋渔业有限公司",
        "--credit-code",
        "91350100M000100Y43",
        "--district",
        "普陀区",
        "--industry",
        "远洋渔业",
        "--monitoring-point",
        "-o",
        "json",
    ]);
    let enterprise = json(&registered)[0].clone();
    let enterprise_id = enterprise["id"].as_str().expect("id").to_owned();
    assert_eq!(enterprise["name"], "舟山市海之味远洋渔业有限公司");

    let text = suite.run(&["enterprise", "list", "--name", "海之味"]);
    assert!(text.contains("舟山市海之味远洋渔业有限公司") && text.contains("营商环境监测点"), "{text}");

    let mut demand_ids = Vec::new();
    for (title, tag) in [("远洋渔业企业综合融资成本偏高", "高频事"), ("渔船抵押贷款利率高、审批慢", "难心事")]
    {
        let out = suite.run(&[
            "demand",
            "submit",
            "--enterprise",
            &enterprise_id,
            "--title",
            title,
            "--text",
            "希望争取金融机构降低符合条件的远洋渔业相关企业综合融资成本。",
            "--category",
            "金融信贷",
            "--tag",
            tag,
            "-o",
            "json",
        ]);
        let demand = json(&out);
        assert_eq!(demand["title"], title);
        assert_eq!(demand["tags"][0], tag);
        demand_ids.push(demand["id"].as_str().expect("id").to_owned());
    }

    let list = suite.run(&["list", &enterprise_id]);
    assert!(list.contains("一企一清单：舟山市海之味远洋渔业有限公司（共 2 件，未办结 2 件）"), "{list}");
    assert!(list.contains("远洋渔业企业综合融资成本偏高") && list.contains("[高频事]"), "{list}");

    let mut merge =
        vec!["merge", "--title", "远洋渔业企业融资成本偏高", "--reason", "同一融资成本问题", "--category", "金融信贷"];
    merge.extend(demand_ids.iter().map(String::as_str));
    let merged = suite.run(&merge);
    assert!(merged.contains("远洋渔业企业融资成本偏高：2 件诉求，涉及 1 家企业"), "{merged}");

    let list = json(&suite.run(&["list", &enterprise_id, "-o", "json"]));
    let merged_ids: Vec<_> = list["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["demands"].as_array().expect("demands").iter())
        .map(|d| d["common_issue_id"].as_str().expect("issue").to_owned())
        .collect();
    assert_eq!(merged_ids.len(), 2);
    assert!(merged_ids.iter().all(|id| !id.is_empty() && id == &merged_ids[0]), "{merged_ids:?}");
}

#[test]
fn client_commands_need_a_token_and_a_server() {
    let output = Command::new(env!("CARGO_BIN_EXE_tingjian"))
        .args(["enterprise", "list", "--addr", "127.0.0.1:1"])
        .env_remove("TINGJIAN_TOKEN")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("token"), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn the_demonstration_programme_needs_a_fresh_data_directory() {
    let data = tempfile::tempdir().expect("data dir");
    std::fs::write(data.path().join("intake.db"), b"").expect("an earlier database");
    let output = Command::new(env!("CARGO_BIN_EXE_tingjian"))
        .args(["up", "--listen", "127.0.0.1:0", "--demo", "--data-dir"])
        .arg(data.path())
        .env_remove("TINGJIAN_NATS_URL")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fresh data directory"), "{stderr}");
    assert_eq!(std::fs::read(data.path().join("intake.db")).expect("kept"), b"", "nothing is written");
}

/// A consultation from the command line: a topic planned from a real common issue, invitees proposed
/// from the enterprises behind it, an interactive session (心贴心) with two entrepreneurs' questions and a
/// leader's answers, closed with minutes, and a suggestion submitted to the government.
#[test]
fn a_consultation_run_from_the_command_line() {
    let suite = Suite::start();
    let mut enterprises = Vec::new();
    let mut demands = Vec::new();
    for (name, code) in
        [("舟山市海丰远洋渔业有限公司", "91330900400000018R"), ("舟山市宏润远洋捕捞有限公司", "91330900400000026L")]
    {
        let out = suite.run(&[
            "enterprise",
            "register",
            "--name",
            name,
            "--credit-code",
            code,
            "--district",
            "普陀区",
            "--industry",
            "远洋渔业",
            "-o",
            "json",
        ]);
        let id = json(&out)[0]["id"].as_str().expect("id").to_owned();
        let out = suite.run(&[
            "demand",
            "submit",
            "--enterprise",
            &id,
            "--title",
            "企业综合融资成本偏高",
            "--text",
            "希望协调金融机构降低综合融资成本。",
            "--category",
            "金融信贷",
            "-o",
            "json",
        ]);
        demands.push(json(&out)["id"].as_str().expect("id").to_owned());
        enterprises.push(id);
    }
    let mut merge =
        vec!["merge", "--title", "企业融资成本偏高", "--reason", "同类诉求", "--category", "金融信贷", "-o", "json"];
    merge.extend(demands.iter().map(String::as_str));
    let issue = json(&suite.run(&merge))["id"].as_str().expect("issue id").to_owned();

    let plan =
        json(&suite.run(&["consult", "plan", "--year", "2026", "--title", "2026年度政企协商计划", "-o", "json"]));
    let plan_id = plan["id"].as_str().expect("plan id");
    let topic = json(&suite.run(&[
        "consult",
        "topic",
        "--plan",
        plan_id,
        "--title",
        "降低企业综合融资成本",
        "--issue",
        &issue,
        "--leader-title",
        "市长",
        "--format",
        "interactive",
        "--group",
        "skilled_talent:高技能人才",
        "--adopt",
        "-o",
        "json",
    ]));
    assert_eq!(topic["status"], "已纳入计划", "{topic}");
    let topic_id = topic["id"].as_str().expect("topic id");

    let proposed = suite.run(&["consult", "invite", "--topic", topic_id]);
    assert!(proposed.contains("舟山市海丰远洋渔业有限公司") && proposed.contains("共性问题"), "{proposed}");
    let invitations = json(&suite.run(&["consult", "invite", "--topic", topic_id, "-o", "json"]));
    let enterprise_invitations: Vec<String> = invitations
        .as_array()
        .expect("invitations")
        .iter()
        .filter(|i| enterprises.iter().any(|e| i["invitee_id"] == e.as_str()))
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(enterprise_invitations.len(), 2, "{invitations}");
    let mut accept = vec!["consult", "accept"];
    accept.extend(enterprise_invitations.iter().map(String::as_str));
    suite.run(&accept);

    let session = json(&suite.run(&[
        "consult",
        "session",
        "--topic",
        topic_id,
        "--title",
        "企业融资降本心贴心协商",
        "--venue",
        "舟山总商会政协委员会客厅",
        "--start",
        "2026-12-01 09:00",
        "-o",
        "json",
    ]));
    let session_id = session["id"].as_str().expect("session id").to_owned();
    let entrepreneurs: Vec<String> = session["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .filter(|p| p["role"] == "企业家")
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(entrepreneurs.len(), 2, "{session}");
    let leader = suite.run(&[
        "consult",
        "join",
        "--session",
        &session_id,
        "--role",
        "leader",
        "--name",
        "王市长",
        "--affiliation",
        "舟山市人民政府",
    ]);
    let leader_id = leader.split_whitespace().nth(1).expect("participant id").to_owned();

    let said = suite.run(&[
        "consult",
        "say",
        "--session",
        &session_id,
        "--speaker",
        &entrepreneurs[0],
        "--kind",
        "question",
        "渔船抵押贷款利率能否下调？",
    ]);
    assert!(said.contains("第 1 条 [问]"), "{said}");
    suite.run(&[
        "consult",
        "say",
        "--session",
        &session_id,
        "--speaker",
        &leader_id,
        "--kind",
        "answer",
        "协调银行专项产品。",
    ]);
    let refused = suite.fail(&[
        "consult",
        "close",
        "--session",
        &session_id,
        "--minutes",
        "会议纪要",
        "--conclusion",
        "协调降低融资成本",
    ]);
    assert!(refused.contains("FailedPrecondition") && refused.contains('2'), "{refused}");
    let said = suite.run(&[
        "consult",
        "say",
        "--session",
        &session_id,
        "--speaker",
        &entrepreneurs[1],
        "--kind",
        "rebuttal",
        "专项产品门槛太高。",
    ]);
    assert!(said.contains("第 3 条 [辩]") && said.contains("问答辩占比 100%"), "{said}");

    let shown = suite.run(&["consult", "show", &session_id]);
    assert!(shown.contains("1. [问]") && shown.contains("王市长") && shown.contains("3. [辩]"), "{shown}");
    let closed = suite.run(&[
        "consult",
        "close",
        "--session",
        &session_id,
        "--minutes",
        "会议纪要：企业反映融资成本偏高。",
        "--conclusion",
        "协调金融机构推出专项信贷产品",
    ]);
    assert!(closed.contains("已结束：出席 3 人，达成共识 1 条"), "{closed}");

    let suggestion = suite.run(&[
        "consult",
        "suggest",
        "--session",
        &session_id,
        "--title",
        "争取金融机构降低远洋渔业企业综合融资成本",
        "--text",
        "建议市政府协调金融机构推出远洋渔业专项信贷产品。",
        "--submit-to",
        "government",
    ]);
    assert!(suggestion.contains("（已报送）"), "{suggestion}");
}

/// A case from dispatch to close through `tingjian case`: staff dispatch it, the lead unit finds it among its
/// cases, accepts, records progress and replies with a benefit, the enterprise evaluates, staff close it;
/// a supervisor follows up a long-running case and sees what is due this quarter.
#[test]
fn a_case_handled_from_the_command_line() {
    let suite = Suite::start();
    let dispatched = json(&suite.run(&[
        "case",
        "dispatch",
        "--title",
        "争取金融机构降低远洋渔业企业综合融资成本",
        "--description",
        "协调辖区金融机构对远洋渔业企业实行优惠利率。",
        "--source",
        "suggestion",
        "--source-id",
        "suggestion-cli-1",
        "--lead-unit",
        "zs-jrb:舟山市人民政府金融工作办公室",
        "--co-unit",
        "zs-jxj:舟山市经济和信息化局",
        "--head",
        "zs-jrb-head:王建国:主任",
        "--working-days",
        "15",
        "--evaluator",
        "ent-haifeng",
        "-o",
        "json",
    ]));
    let id = dispatched["id"].as_str().expect("case id").to_owned();
    assert_eq!(dispatched["status"], "CASE_STATUS_DISPATCHED", "{dispatched}");

    let unit = suite.token_for("officer-jrb", "zs-jrb", "handling_unit");
    let mine = suite.run_with(&unit, &["case", "mine"]);
    assert!(mine.contains("共 1 件") && mine.contains("已交办") && mine.contains("远洋渔业"), "{mine}");
    let other = suite.token_for("officer-jtj", "zs-jtj", "handling_unit");
    assert!(suite.run_with(&other, &["case", "mine"]).contains("共 0 件"));

    let accepted = suite.run_with(&unit, &["case", "accept", &id, "--note", "已签收，专人办理"]);
    assert!(accepted.contains("已签收"), "{accepted}");
    suite.run_with(&unit, &["case", "progress", &id, "--text", "已召开银企对接会，三家银行同意下调利率。"]);
    let replied = suite.run_with(
        &unit,
        &[
            "case",
            "reply",
            &id,
            "--class",
            "a",
            "--text",
            "经协调，相关企业贷款利率平均下调0.8个百分点。",
            "--interest-reduced",
            "1971000",
        ],
    );
    assert!(replied.contains("A 已解决") && replied.contains("按期") && replied.contains("1971000.00 元"), "{replied}");

    let enterprise = suite.token_for("ent-haifeng", "haifeng", "enterprise");
    let evaluated = suite.run_with(&enterprise, &["case", "evaluate", &id, "--result", "satisfied"]);
    assert!(evaluated.contains("已评价"), "{evaluated}");
    let closed = suite.run(&["case", "close", &id, "--reason", "企业满意，办结"]);
    assert!(closed.contains("已办结"), "{closed}");

    let shown = suite.run(&["case", "show", &id]);
    for step in ["交办", "签收", "进展", "答复", "成效", "评价", "办结"] {
        assert!(shown.contains(step), "{step} missing from:\n{shown}");
    }

    // A long-running case (planned over six months) owes a follow-up this quarter.
    let long = json(&suite.run(&[
        "case",
        "dispatch",
        "--title",
        "推进远洋渔业基地冷链物流项目",
        "--description",
        "协调土地和资金，推进冷链物流项目建设。",
        "--source",
        "common-issue",
        "--source-id",
        "issue-cli-1",
        "--lead-unit",
        "zs-jxj:舟山市经济和信息化局",
        "--head",
        "zs-jxj-head:李明:局长",
        "--planned",
        "2099-12-31",
        "-o",
        "json",
    ]));
    let long_id = long["id"].as_str().expect("case id").to_owned();
    assert_eq!(long["long_running"], true, "{long}");
    let swept = suite.run(&["case", "sweep"]);
    assert!(swept.contains("跟踪任务 1"), "{swept}");
    let due = suite.run(&["case", "due"]);
    assert!(due.contains("待跟踪监督的长期事项（1 件）") && due.contains("冷链物流"), "{due}");
    let supervisor = suite.token_for("supervisor-zhao", "zs-dcs", "supervisor");
    let followed = suite.run_with(
        &supervisor,
        &[
            "case",
            "follow-up",
            &long_id,
            "--method",
            "on-site",
            "--findings",
            "项目用地已落实，资金到位六成。",
            "--supervisor",
            "supervisor-zhao",
        ],
    );
    assert!(followed.contains("已记录跟踪监督") && followed.contains("已跟踪"), "{followed}");
    let due = suite.run(&["case", "due"]);
    assert!(due.contains("待跟踪监督的长期事项（0 件）"), "{due}");
}

#[test]
fn similar_demands_found_and_merged_from_the_command_line() {
    let suite = Suite::start();
    let mut enterprises = Vec::new();
    for (name, code) in
        [("舟山市海丰远洋渔业有限公司", "91330900500000015U"), ("舟山市宏润冷链物流有限公司", "91330900500000023N")]
    {
        let out = suite.run(&[
            "enterprise",
            "register",
            "--name",
            name,
            "--credit-code",
            code,
            "--district",
            "普陀区",
            "--industry",
            "远洋渔业",
            "-o",
            "json",
        ]);
        enterprises.push(json(&out)[0]["id"].as_str().expect("id").to_owned());
    }
    let submit = |enterprise: &str, title: &str, text: &str, category: &str| {
        suite.run(&[
            "demand",
            "submit",
            "--enterprise",
            enterprise,
            "--title",
            title,
            "--text",
            text,
            "--category",
            category,
        ])
    };
    submit(
        &enterprises[0],
        "渔船抵押贷款利率偏高",
        "远洋渔船抵押贷款利率偏高，审批周期长，希望降低融资成本。",
        "金融信贷",
    );
    submit(&enterprises[1], "冷库用电成本高", "冷库用电量大，电价偏高，希望落实峰谷电价优惠政策。", "金融信贷");
    let second = submit(
        &enterprises[1],
        "渔船抵押贷款利息太高",
        "渔船抵押贷款的利息太高，审批也慢，希望降低融资成本。",
        "金融信贷",
    );
    assert!(second.contains("可能重复的诉求和共性问题"), "{second}");
    assert!(second.contains("渔船抵押贷款利率偏高") && second.contains("共同关键词："), "{second}");

    let found = suite.run(&["similar", "渔船贷款利息太高，融资成本高"]);
    assert!(found.starts_with("与「渔船贷款利息太高，融资成本高」相似的诉求和共性问题"), "{found}");
    let lines: Vec<&str> = found.lines().collect();
    assert!(lines[1].contains(" 1. ") && lines[1].contains("诉求") && lines[1].contains("渔船抵押贷款"), "{found}");
    assert!(found.contains("关键词：") && found.contains("渔船"), "{found}");
    let none = suite.run(&["similar", "高层次人才子女入学"]);
    assert!(none.contains("没有与「高层次人才子女入学」相似的诉求或共性问题"), "{none}");

    let proposal = suite.run(&["cluster", "propose", "--unmerged", "--category", "金融信贷"]);
    assert!(proposal.starts_with("聚类建议 ") && proposal.contains("考虑 3 件诉求"), "{proposal}");
    assert!(proposal.contains("第 1 组（2 件诉求") && proposal.contains("待定"), "{proposal}");
    assert!(proposal.contains("  - ") && proposal.contains("渔船抵押贷款利息太高"), "{proposal}");
    let proposal_id = proposal.split_whitespace().nth(1).expect("proposal id").trim_end_matches('：').to_owned();
    let proposal_id = proposal_id.split('：').next().expect("id").to_owned();

    let accepted = suite.run(&[
        "cluster",
        "accept",
        &proposal_id,
        "1",
        "--reason",
        "同一融资成本问题",
        "--title",
        "渔船抵押贷款融资成本高",
    ]);
    assert!(
        accepted.contains("第 1 组已采纳 → 共性问题")
            && accepted.contains("渔船抵押贷款融资成本高：2 件诉求，涉及 2 家企业"),
        "{accepted}"
    );
    let shown = suite.run(&["cluster", "show", &proposal_id]);
    assert!(shown.contains("已采纳") && shown.contains("同一融资成本问题"), "{shown}");
    let again = suite.fail(&["cluster", "reject", &proposal_id, "1"]);
    assert!(again.contains("FailedPrecondition"), "{again}");
}
