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
