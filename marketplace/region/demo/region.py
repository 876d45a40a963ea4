"""The demo region: three clusters from the seeds (进化 云飞寿潜, 龙坞 西湖龙井, 益农 共富智 celery).

Pure data. Keys are stable slugs that the lists use to refer to one another. Every ``source``
names the seed file (000-004) and quotes it between 「」, or says "illustrative" for what the
seeds do not give (coordinates are approximate, WGS84).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import TypedDict
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

VILLAGES = [
    dict(
        key="huantan",
        name_zh="欢潭村",
        name_en="Huantan Village",
        township_zh="进化镇",
        township_en="Jinhua",
        county_zh="萧山区",
        county_en="Xiaoshan",
        latitude=Decimal("29.9935"),
        longitude=Decimal("120.3005"),
        baseline_income_fen=138_000_000,
        baseline_year=2024,
        source="seed 003: 「以梅林村、凤凰村、横一村、欢潭村为示范的特色乡村样板」; "
        "coordinates approximate, income illustrative",
    ),
    # The seed names no village of 进化 besides 欢潭; these three are real 进化镇 villages
    # chosen to stand for the 「带动10个村」 of seed 003.
    dict(
        key="datangwu",
        name_zh="大汤坞新村",
        name_en="Datangwu New Village",
        township_zh="进化镇",
        township_en="Jinhua",
        county_zh="萧山区",
        county_en="Xiaoshan",
        latitude=Decimal("30.0305"),
        longitude=Decimal("120.2960"),
        baseline_income_fen=92_000_000,
        baseline_year=2024,
        source="seed 003: 「带动10个村集体经营性收入增加」; membership, coordinates and income illustrative",
    ),
    dict(
        key="jishan",
        name_zh="吉山村",
        name_en="Jishan Village",
        township_zh="进化镇",
        township_en="Jinhua",
        county_zh="萧山区",
        county_en="Xiaoshan",
        latitude=Decimal("30.0560"),
        longitude=Decimal("120.3120"),
        baseline_income_fen=76_000_000,
        baseline_year=2024,
        source="seed 003: 「带动10个村集体经营性收入增加」; membership, coordinates and income illustrative",
    ),
    dict(
        key="yunfei",
        name_zh="云飞村",
        name_en="Yunfei Village",
        township_zh="进化镇",
        township_en="Jinhua",
        county_zh="萧山区",
        county_en="Xiaoshan",
        latitude=Decimal("30.0250"),
        longitude=Decimal("120.3330"),
        baseline_income_fen=68_000_000,
        baseline_year=2024,
        source="seed 003: 「带动10个村集体经营性收入增加」; membership, coordinates and income illustrative",
    ),
    # 龙坞 is the tea area of 转塘街道, not a township of its own, hence township 转塘.
    dict(
        key="shangchengdai",
        name_zh="上城埭村",
        name_en="Shangchengdai Village",
        township_zh="转塘街道",
        township_en="Zhuantang",
        county_zh="西湖区",
        county_en="Xihu",
        latitude=Decimal("30.1915"),
        longitude=Decimal("120.0525"),
        baseline_income_fen=215_000_000,
        baseline_year=2024,
        source="seed 004: 「高标准打造中国第一茶镇龙坞茶镇」; village choice, coordinates and "
        "income illustrative",
    ),
    dict(
        key="waitongwu",
        name_zh="外桐坞村",
        name_en="Waitongwu Village",
        township_zh="转塘街道",
        township_en="Zhuantang",
        county_zh="西湖区",
        county_en="Xihu",
        latitude=Decimal("30.1680"),
        longitude=Decimal("120.0730"),
        baseline_income_fen=105_000_000,
        baseline_year=2024,
        source="seed 004: 「所有行政村集体经济年经营性收入超过120万元」 (2027 target); "
        "coordinates and income illustrative",
    ),
    dict(
        key="changdai",
        name_zh="长埭村",
        name_en="Changdai Village",
        township_zh="转塘街道",
        township_en="Zhuantang",
        county_zh="西湖区",
        county_en="Xihu",
        latitude=Decimal("30.1790"),
        longitude=Decimal("120.0600"),
        baseline_income_fen=86_000_000,
        baseline_year=2024,
        source="seed 004: 「所有行政村集体经济年经营性收入超过120万元」 (2027 target); "
        "coordinates and income illustrative",
    ),
    dict(
        key="qunwei",
        name_zh="群围村",
        name_en="Qunwei Village",
        township_zh="益农镇",
        township_en="Yinong",
        county_zh="萧山区",
        county_en="Xiaoshan",
        latitude=Decimal("30.2770"),
        longitude=Decimal("120.6010"),
        baseline_income_fen=186_000_000,
        baseline_year=2024,
        source="seed 003: 「由群围村、三围村和民围村共建」; coordinates approximate, income illustrative",
    ),
    dict(
        key="sanwei",
        name_zh="三围村",
        name_en="Sanwei Village",
        township_zh="益农镇",
        township_en="Yinong",
        county_zh="萧山区",
        county_en="Xiaoshan",
        latitude=Decimal("30.2845"),
        longitude=Decimal("120.5930"),
        baseline_income_fen=124_000_000,
        baseline_year=2024,
        source="seed 003: 「由群围村、三围村和民围村共建」; coordinates approximate, income illustrative",
    ),
    dict(
        key="minwei",
        name_zh="民围村",
        name_en="Minwei Village",
        township_zh="益农镇",
        township_en="Yinong",
        county_zh="萧山区",
        county_en="Xiaoshan",
        latitude=Decimal("30.2690"),
        longitude=Decimal("120.6105"),
        baseline_income_fen=112_000_000,
        baseline_year=2024,
        source="seed 003: 「由群围村、三围村和民围村共建」; coordinates approximate, income illustrative",
    ),
    # 浦阳 has its own strong-village company and the 传化 pairing in seed 003, but no brand
    # or cluster there, so 灵山村 stays outside every cluster.
    dict(
        key="lingshan",
        name_zh="灵山村",
        name_en="Lingshan Village",
        township_zh="浦阳镇",
        township_en="Puyang",
        county_zh="萧山区",
        county_en="Xiaoshan",
        latitude=Decimal("29.9980"),
        longitude=Decimal("120.2120"),
        baseline_income_fen=64_000_000,
        baseline_year=2024,
        source="seed 003: 「依托灵山村未来乡村建设」; coordinates approximate, income illustrative",
    ),
]


class OrganisationSeed(TypedDict):
    key: str
    kind: str
    name_zh: str
    name_en: str
    village: str | None
    contact_phone: str
    source: str


ORGANISATIONS: list[OrganisationSeed] = [
    dict(
        key="region-operator",
        kind="operator",
        name_zh="杭州山海共富农产品运营有限公司",
        name_en="Hangzhou Shanhai Common-Prosperity Produce Operations Co., Ltd.",
        village=None,
        contact_phone="0571-80000001",
        source="seed 000: 「“專業運營團隊+村集體管理服務公司”組合模式」; company illustrative",
    ),
    dict(
        key="jinhua-svc",
        kind="strong_village_company",
        name_zh="杭州萧山进化强村发展有限公司",
        name_en="Xiaoshan Jinhua Strong-Village Development Co., Ltd.",
        village="huantan",
        contact_phone="0571-80000002",
        source="seed 003: 「2022年,进化镇成立萧山首家多村联合投资的“强村公司”」; name illustrative",
    ),
    dict(
        key="puyang-svc",
        kind="strong_village_company",
        name_zh="杭州萧山浦阳强村发展有限公司",
        name_en="Xiaoshan Puyang Strong-Village Development Co., Ltd.",
        village="lingshan",
        contact_phone="0571-80000003",
        source="seed 003: 「探索形成了进化、浦阳强村公司和益农“共富智”联合体」; name illustrative",
    ),
    dict(
        key="jinhua-poultry-coop",
        kind="cooperative",
        name_zh="萧山进化飞鸡养殖专业合作社",
        name_en="Xiaoshan Jinhua Feiji Poultry Cooperative",
        village="datangwu",
        contact_phone="0571-80000004",
        source="seed 003: 「通过“政府+合作社+农户”的运营模式」; name illustrative",
    ),
    dict(
        key="jinhua-tea-coop",
        kind="cooperative",
        name_zh="萧山进化云茶专业合作社",
        name_en="Xiaoshan Jinhua Yuncha Tea Cooperative",
        village="jishan",
        contact_phone="0571-80000005",
        source="seed 003: 「还将推出“潜鸭”“云茶”“寿梅”等农产品」; name illustrative",
    ),
    dict(
        key="jinhua-plum-coop",
        kind="cooperative",
        name_zh="萧山进化寿梅青梅专业合作社",
        name_en="Xiaoshan Jinhua Shoumei Plum Cooperative",
        village="yunfei",
        contact_phone="0571-80000006",
        source="seed 003: 「还将推出“潜鸭”“云茶”“寿梅”等农产品」; name illustrative",
    ),
    dict(
        key="longwu-tea-coop",
        kind="cooperative",
        name_zh="杭州龙坞茶村茶叶专业合作社",
        name_en="Hangzhou Longwu Tea Village Cooperative",
        village="shangchengdai",
        contact_phone="0571-80000007",
        source="seed 004: 「实施家庭农场培育提升与合作社壮大工程」; name illustrative",
    ),
    dict(
        key="yinong-coop",
        kind="cooperative",
        name_zh="杭州萧山益农共富智芹菜专业合作社",
        name_en="Xiaoshan Yinong Gongfuzhi Celery Cooperative",
        village="qunwei",
        contact_phone="0571-80000008",
        source="seed 003: 「由群围村、三围村和民围村共建」 the 益农“共富智”联合体; "
        "cooperative form and name illustrative",
    ),
    dict(
        key="transfar",
        kind="enterprise",
        name_zh="传化集团",
        name_en="Transfar Group",
        village=None,
        contact_phone="0571-80000009",
        source="seed 003: 「浦阳传化共富乡村示范点项目合作协议」; phone fictional",
    ),
    dict(
        key="xihu-culture-tourism",
        kind="enterprise",
        name_zh="西湖文旅集团",
        name_en="Xihu Culture & Tourism Group",
        village=None,
        contact_phone="0571-80000010",
        source="seed 004: 「强化未来乡村与国企双向合作」 (责任单位: 西湖文旅集团); phone fictional",
    ),
    dict(
        key="shanhai-fresh",
        kind="enterprise",
        name_zh="杭州山海鲜选超市有限公司",
        name_en="Hangzhou Shanhai Fresh Choice Supermarkets Co., Ltd.",
        village=None,
        contact_phone="0571-80000011",
        source="seed 001: 「訂單合作」 as the model; buyer illustrative",
    ),
    dict(
        key="yunxiu-tea",
        kind="enterprise",
        name_zh="杭州云岫茶业有限公司",
        name_en="Hangzhou Yunxiu Tea Co., Ltd.",
        village=None,
        contact_phone="0571-80000012",
        source="seed 004: 「探索企业联村联农的共富机制」; buyer illustrative",
    ),
    dict(
        key="hewei-foods",
        kind="enterprise",
        name_zh="杭州禾味食品有限公司",
        name_en="Hangzhou Hewei Foods Co., Ltd.",
        village=None,
        contact_phone="0571-80000013",
        source="seed 001: 「訂單合作」 as the model; buyer illustrative",
    ),
    dict(
        key="region-inspection",
        kind="inspection_body",
        name_zh="杭州山海农产品质量检测中心",
        name_en="Hangzhou Shanhai Produce Quality Testing Centre",
        village=None,
        contact_phone="0571-80000014",
        source="seed 000: 「量質幫扶」 needs one quality control across the cluster; body illustrative",
    ),
]

# One account per role; the password is shanhai-demo for every one (listed in the README).
USERS = [
    dict(
        email="operator@example.com",
        display_name="片区运营 Demo Operator",
        role="operator",
        organisation="region-operator",
    ),
    dict(
        email="cooperative@example.com",
        display_name="益农合作社 Demo Cooperative",
        role="cooperative",
        organisation="yinong-coop",
    ),
    dict(
        email="cooperative2@example.com",
        display_name="龙坞茶合作社 Second Cooperative",
        role="cooperative",
        organisation="longwu-tea-coop",
    ),
    dict(
        email="enterprise@example.com",
        display_name="禾味食品 Demo Enterprise",
        role="enterprise",
        organisation="hewei-foods",
    ),
    dict(
        email="inspector@example.com",
        display_name="品控员 Demo Inspector",
        role="inspector",
        organisation="region-inspection",
    ),
]
DEMO_PASSWORD = "shanhai-demo"


class ClusterSeed(TypedDict):
    key: str
    name_zh: str
    name_en: str
    key_village: str
    villages: list[str]
    operator: str
    description_zh: str
    description_en: str
    source: str


CLUSTERS: list[ClusterSeed] = [
    dict(
        key="jinhua",
        name_zh="进化“云飞寿潜”片区",
        name_en="Jinhua Yunfei Shouqian Cluster",
        key_village="huantan",
        villages=["huantan", "datangwu", "jishan", "yunfei"],
        operator="region-operator",
        description_zh="萧山南部进化镇多村联合组团:强村公司以“政府+合作社+农户”模式经营"
        "“云飞寿潜”品牌,产品线有飞鸡、潜鸭、云茶、寿梅。",
        description_en="A multi-village cluster in Jinhua town, south Xiaoshan: the "
        "strong-village company runs the Yunfei Shouqian brand on a government + "
        "cooperative + household model, with Feiji chicken, Qianya duck, Yuncha "
        "tea and Shoumei plums.",
        source="seed 003: 「“云飞寿潜”农产品品牌也已上线」; cluster membership illustrative",
    ),
    dict(
        key="longwu",
        name_zh="龙坞茶镇西湖龙井片区",
        name_en="Longwu Tea Town West Lake Longjing Cluster",
        key_village="shangchengdai",
        villages=["shangchengdai", "waitongwu", "changdai"],
        operator="region-operator",
        description_zh="西湖区龙坞茶镇的茶村组团,以西湖龙井为金字招牌,逐步实施茶叶生产、"
        "茶叶品牌和茶叶服务“三统一”。",
        description_en="Tea villages of Longwu Tea Town in Xihu district, united under the West "
        "Lake Longjing name and moving to the 'three unifications' of tea "
        "production, brand and service.",
        source="seed 004: 「逐步实施茶叶生产、茶叶品牌和茶叶服务“三统一”」",
    ),
    dict(
        key="yinong",
        name_zh="益农“共富智”芹菜联合体",
        name_en="Yinong Gongfuzhi Celery Union",
        key_village="qunwei",
        villages=["qunwei", "sanwei", "minwei"],
        operator="region-operator",
        description_zh="群围村、三围村、民围村共建的市级共富联合体,三村芹菜种植面积3000余亩,"
        "亩产7000斤,每斤成本7毛钱。",
        description_en="A city-level common-prosperity union built by Qunwei, Sanwei and Minwei "
        "villages: over 3,000 mu of celery, 7,000 jin per mu, at a cost of "
        "0.7 yuan per jin.",
        source="seed 003: 「芹菜种植面积3000余亩,亩产从6000斤提升到7000斤,每斤成本由8毛钱下降到7毛钱」",
    ),
]


class PairingSeed(TypedDict):
    village: str
    enterprise: str
    since: date
    note_zh: str
    source: str


PAIRINGS: list[PairingSeed] = [
    # Seed 003 dates the 传化 agreement 「去年6月」 in an article on 2022, so June 2022; the day is
    # not given.
    dict(
        village="lingshan",
        enterprise="transfar",
        since=date(2022, 6, 1),
        note_zh="浦阳传化共富乡村示范点:依托灵山村未来乡村建设,连片打造产村融合的共富实践带。",
        source="seed 003: 「浦阳将连片打造产村融合的共富实践带,并依托灵山村未来乡村建设」",
    ),
    dict(
        village="qunwei",
        enterprise="shanhai-fresh",
        since=date(2025, 9, 1),
        note_zh="芹菜订单农业:超市按等级收购群围村芹菜。",
        source="seed 001: 「訂單合作」; pairing illustrative",
    ),
    dict(
        village="sanwei",
        enterprise="shanhai-fresh",
        since=date(2025, 9, 1),
        note_zh="芹菜订单农业:超市按等级收购三围村芹菜。",
        source="seed 001: 「訂單合作」; pairing illustrative",
    ),
    dict(
        village="shangchengdai",
        enterprise="yunxiu-tea",
        since=date(2024, 3, 1),
        note_zh="明前西湖龙井订单收购与茶旅合作。",
        source="seed 004: 「探索企业联村联农的共富机制」; pairing illustrative",
    ),
    dict(
        village="datangwu",
        enterprise="hewei-foods",
        since=date(2024, 5, 1),
        note_zh="进化飞鸡订单养殖与冷链配送。",
        source="seed 001: 「已促成88家企業(yè)與90個村結(jié)對」 as the model; pairing illustrative",
    ),
]

CATEGORIES = [
    dict(key="tea", name_zh="茶叶", name_en="Tea"),
    dict(key="vegetables", name_zh="蔬菜", name_en="Vegetables"),
    dict(key="poultry", name_zh="禽类", name_en="Poultry"),
    dict(key="fruit", name_zh="水果", name_en="Fruit"),
]

BRANDS = [
    dict(
        key="yunfei-shouqian",
        cluster="jinhua",
        name_zh="云飞寿潜",
        name_en="Yunfei Shouqian",
        slogan_zh="飞鸡潜鸭,云茶寿梅",
        slogan_en="Feiji chicken, Qianya duck, Yuncha tea, Shoumei plums",
        story_zh="2022年,进化镇成立萧山首家多村联合投资的强村公司,以“政府+合作社+农户”的模式"
        "推出并打响“进化飞鸡”。飞鸡已卖出35000多只,带动10个村集体经营性收入增加,"
        "为300多位村民提供了就业岗位。“云飞寿潜”品牌随后上线,在飞鸡之外推出潜鸭、云茶和寿梅。",
        story_en="In 2022 Jinhua town set up Xiaoshan's first strong-village company jointly "
        "invested by several villages, and on a government + cooperative + household "
        "model launched the 'Jinhua Feiji' chicken. More than 35,000 birds have been "
        "sold, raising the operating income of 10 village collectives and giving jobs "
        "to over 300 villagers. The Yunfei Shouqian brand followed, adding Qianya duck, "
        "Yuncha tea and Shoumei plums to the chicken.",
        source="seed 003: 「已卖出35000多只鸡,带动10个村集体经营性收入增加,为300多位村民提供了"
        "就业岗位」; slogan illustrative",
    ),
    dict(
        key="xihu-longjing",
        cluster="longwu",
        name_zh="西湖龙井",
        name_en="West Lake Longjing",
        slogan_zh="龙坞茶镇,一芽一叶",
        slogan_en="Longwu Tea Town, one bud and one leaf",
        story_zh="西湖区持续放大西湖龙井金字招牌,逐步实施茶叶生产、茶叶品牌和茶叶服务“三统一”。"
        "中国国际茶叶博览会和中华茶奥会永久落户龙坞茶镇,每年举办开茶节、茶博会和茶奥会。"
        "每年开展手工炒茶技艺培训100人以上,并举办炒茶王比赛,传承西湖龙井茶制作技艺。",
        story_en="Xihu district keeps polishing the golden name of West Lake Longjing and is "
        "moving step by step to one standard for tea production, tea branding and tea "
        "services. The China International Tea Expo and the China Tea Olympics are "
        "permanently based in Longwu Tea Town, with a tea-opening festival, expo and "
        "games every year. Over 100 people a year are trained in hand-roasting, and a "
        "tea-roasting king contest keeps the West Lake Longjing craft alive.",
        source="seed 004: 「持续放大西湖龙井金字招牌,逐步实施茶叶生产、茶叶品牌和茶叶服务“三统一”」; "
        "slogan illustrative",
    ),
    dict(
        key="gongfuzhi",
        cluster="yinong",
        name_zh="共富智",
        name_en="Gongfuzhi",
        slogan_zh="三村一棵芹,共富一条心",
        slogan_en="Three villages, one celery, one shared prosperity",
        story_zh="2022年,由群围村、三围村和民围村共建的益农“共富智”联合体获评市级共富联合体。"
        "三村芹菜种植面积3000余亩,亩产从6000斤提升到7000斤,每斤成本由8毛钱下降到7毛钱。"
        "年产值1.5亿元,芹菜亩平均收益3万余元,农户平均增收5000元。",
        story_en="In 2022 the Yinong 'Gongfuzhi' union, built by Qunwei, Sanwei and Minwei "
        "villages, was named a city-level common-prosperity union. The three villages "
        "grow celery on more than 3,000 mu; the yield rose from 6,000 to 7,000 jin per "
        "mu and the cost fell from 0.8 to 0.7 yuan per jin. Annual output is worth 150 "
        "million yuan, over 30,000 yuan per mu, and each household earns 5,000 yuan "
        "more on average.",
        source="seed 003: 「年产值1.5亿元,芹菜亩平均收益达到3万余元,农户平均增收5000元」; "
        "use of the union's name as a brand and slogan illustrative",
    ),
]

PRODUCTS = [
    dict(
        key="feiji",
        brand="yunfei-shouqian",
        category="poultry",
        cooperative="jinhua-poultry-coop",
        village="datangwu",
        name_zh="进化飞鸡",
        name_en="Jinhua Feiji Free-range Chicken",
        description_zh="进化山林散养的土鸡,整只冰鲜,云飞寿潜的第一个产品。",
        description_en="Free-range chicken raised in the Jinhua hills, sold whole and chilled; "
        "the first Yunfei Shouqian product.",
    ),
    dict(
        key="qianya",
        brand="yunfei-shouqian",
        category="poultry",
        cooperative="jinhua-svc",
        village="huantan",
        name_zh="潜鸭",
        name_en="Qianya Duck",
        description_zh="浦阳江畔放养的麻鸭,整只冰鲜。",
        description_en="Local brown-feathered duck raised along the Puyang river, sold whole and chilled.",
    ),
    dict(
        key="yuncha",
        brand="yunfei-shouqian",
        category="tea",
        cooperative="jinhua-tea-coop",
        village="jishan",
        name_zh="云茶",
        name_en="Yuncha Green Tea",
        description_zh="进化山区春茶,炒青绿茶。",
        description_en="Spring pan-fired green tea from the Jinhua hills.",
    ),
    dict(
        key="shoumei",
        brand="yunfei-shouqian",
        category="fruit",
        cooperative="jinhua-plum-coop",
        village="yunfei",
        name_zh="寿梅",
        name_en="Shoumei Green Plums",
        description_zh="进化青梅,六月采摘,适合泡酒、做梅干。",
        description_en="Jinhua green plums picked in June, for plum wine and dried plums.",
    ),
    dict(
        key="longjing-mingqian",
        brand="xihu-longjing",
        category="tea",
        cooperative="longwu-tea-coop",
        village="shangchengdai",
        name_zh="西湖龙井·明前",
        name_en="West Lake Longjing, pre-Qingming",
        description_zh="清明前采摘的龙坞西湖龙井,一芽一叶,手工炒制。",
        description_en="Longwu West Lake Longjing picked before Qingming, one bud and one leaf, "
        "roasted by hand.",
    ),
    dict(
        key="longjing-yuqian",
        brand="xihu-longjing",
        category="tea",
        cooperative="longwu-tea-coop",
        village="changdai",
        name_zh="西湖龙井·雨前",
        name_en="West Lake Longjing, pre-Guyu",
        description_zh="清明后、谷雨前采摘的龙坞西湖龙井,滋味醇厚,适合日常饮用。",
        description_en="Longwu West Lake Longjing picked between Qingming and Guyu; fuller in "
        "taste, for every day.",
    ),
    dict(
        key="celery",
        brand="gongfuzhi",
        category="vegetables",
        cooperative="yinong-coop",
        village="qunwei",
        name_zh="共富智芹菜",
        name_en="Gongfuzhi Celery",
        description_zh="益农三村围垦地种植的芹菜,亩产7000斤,按等级采收装箱。",
        description_en="Celery grown on the reclaimed land of the three Yinong villages, 7,000 "
        "jin per mu, harvested and boxed by grade.",
    ),
]

# 品牌授权: each grower may use only the brand and product line (category) it sells, from the
# year the brand began to the end of 2030; the operator renews. Illustrative.
LICENCE_PERIOD = (datetime(2024, 1, 1, tzinfo=SHANGHAI), datetime(2031, 1, 1, tzinfo=SHANGHAI))
BRAND_LICENCES = [
    dict(licensee="jinhua-poultry-coop", brand="yunfei-shouqian", category="poultry"),
    dict(licensee="jinhua-svc", brand="yunfei-shouqian", category="poultry"),
    dict(licensee="jinhua-tea-coop", brand="yunfei-shouqian", category="tea"),
    dict(licensee="jinhua-plum-coop", brand="yunfei-shouqian", category="fruit"),
    dict(licensee="longwu-tea-coop", brand="xihu-longjing", category="tea"),
    dict(licensee="yinong-coop", brand="gongfuzhi", category="vegetables"),
]

# The villages each grower works in (its products' and lots' villages). Illustrative.


class VillageMembershipSeed(TypedDict):
    organisation: str
    villages: list[str]


VILLAGE_MEMBERSHIPS: list[VillageMembershipSeed] = [
    dict(organisation="jinhua-poultry-coop", villages=["datangwu", "yunfei"]),
    dict(organisation="jinhua-svc", villages=["huantan"]),
    dict(organisation="jinhua-tea-coop", villages=["jishan"]),
    dict(organisation="jinhua-plum-coop", villages=["yunfei", "huantan"]),
    dict(organisation="longwu-tea-coop", villages=["shangchengdai", "waitongwu", "changdai"]),
    dict(organisation="yinong-coop", villages=["qunwei", "sanwei", "minwei"]),
]
MEMBERSHIP_SINCE = date(2024, 1, 1)

# GTINs use the fictional company prefix 0697990000; the last digit is the GS1 mod-10 check digit.


class SkuSeed(TypedDict):
    key: str
    product: str
    name_zh: str
    name_en: str
    pack_size: Decimal
    pack_unit: str
    price_fen: int
    gtin: str


SKUS: list[SkuSeed] = [
    dict(
        key="longjing-mingqian-250g-tin",
        product="longjing-mingqian",
        name_zh="西湖龙井·明前 250克罐装",
        name_en="West Lake Longjing pre-Qingming, 250 g tin",
        pack_size=Decimal("250"),
        pack_unit="g",
        price_fen=128_000,
        gtin="06979900000011",
    ),
    dict(
        key="longjing-mingqian-100g-pouch",
        product="longjing-mingqian",
        name_zh="西湖龙井·明前 100克袋装",
        name_en="West Lake Longjing pre-Qingming, 100 g pouch",
        pack_size=Decimal("100"),
        pack_unit="g",
        price_fen=52_000,
        gtin="06979900000028",
    ),
    dict(
        key="longjing-yuqian-250g-tin",
        product="longjing-yuqian",
        name_zh="西湖龙井·雨前 250克罐装",
        name_en="West Lake Longjing pre-Guyu, 250 g tin",
        pack_size=Decimal("250"),
        pack_unit="g",
        price_fen=68_000,
        gtin="06979900000035",
    ),
    dict(
        key="yuncha-250g",
        product="yuncha",
        name_zh="云茶 250克罐装",
        name_en="Yuncha green tea, 250 g tin",
        pack_size=Decimal("250"),
        pack_unit="g",
        price_fen=19_800,
        gtin="06979900000042",
    ),
    dict(
        key="feiji-whole",
        product="feiji",
        name_zh="进化飞鸡 整只",
        name_en="Jinhua Feiji chicken, whole bird",
        pack_size=Decimal("1"),
        pack_unit="each",
        price_fen=16_800,
        gtin="06979900000059",
    ),
    dict(
        key="qianya-whole",
        product="qianya",
        name_zh="潜鸭 整只",
        name_en="Qianya duck, whole bird",
        pack_size=Decimal("1"),
        pack_unit="each",
        price_fen=12_800,
        gtin="06979900000066",
    ),
    dict(
        key="shoumei-2-5kg-box",
        product="shoumei",
        name_zh="寿梅 2.5公斤箱装",
        name_en="Shoumei green plums, 2.5 kg box",
        pack_size=Decimal("2.5"),
        pack_unit="kg",
        price_fen=5_800,
        gtin="06979900000073",
    ),
    dict(
        key="celery-5kg-box",
        product="celery",
        name_zh="共富智芹菜 5公斤箱装",
        name_en="Gongfuzhi celery, 5 kg box",
        pack_size=Decimal("5"),
        pack_unit="kg",
        price_fen=3_980,
        gtin="06979900000080",
    ),
    dict(
        key="celery-1jin-bundle",
        product="celery",
        name_zh="共富智芹菜 1斤装",
        name_en="Gongfuzhi celery, 1 jin bundle",
        pack_size=Decimal("1"),
        pack_unit="jin",
        price_fen=450,
        gtin="06979900000097",
    ),
]

# Seasons: Longjing late March-April, green plums June, celery autumn to winter, poultry any time.
LOTS = [
    dict(
        key="lj-2026-m01",
        product="longjing-mingqian",
        village="shangchengdai",
        cooperative="longwu-tea-coop",
        harvested_on=date(2026, 3, 24),
        quantity=Decimal("60"),
        unit="kg",
        stock_on_hand=Decimal("22.5"),
        status="on_sale",
        lot_code="LJ2026M01",
    ),
    dict(
        key="lj-2026-m02",
        product="longjing-mingqian",
        village="waitongwu",
        cooperative="longwu-tea-coop",
        harvested_on=date(2026, 3, 31),
        quantity=Decimal("35"),
        unit="kg",
        stock_on_hand=Decimal("35"),
        status="graded",
        lot_code="LJ2026M02",
    ),
    dict(
        key="lj-2026-y01",
        product="longjing-yuqian",
        village="changdai",
        cooperative="longwu-tea-coop",
        harvested_on=date(2026, 4, 14),
        quantity=Decimal("90"),
        unit="kg",
        stock_on_hand=Decimal("41"),
        status="on_sale",
        lot_code="LJ2026Y01",
    ),
    dict(
        key="yc-2026-s01",
        product="yuncha",
        village="jishan",
        cooperative="jinhua-tea-coop",
        harvested_on=date(2026, 4, 2),
        quantity=Decimal("40"),
        unit="kg",
        stock_on_hand=Decimal("16"),
        status="on_sale",
        lot_code="YC2026S01",
    ),
    dict(
        key="fj-2026-a01",
        product="feiji",
        village="datangwu",
        cooperative="jinhua-poultry-coop",
        harvested_on=date(2026, 9, 15),
        quantity=Decimal("800"),
        unit="each",
        stock_on_hand=Decimal("236"),
        status="on_sale",
        lot_code="FJ2026A01",
    ),
    dict(
        key="fj-2026-b01",
        product="feiji",
        village="yunfei",
        cooperative="jinhua-poultry-coop",
        harvested_on=date(2026, 11, 5),
        quantity=Decimal("600"),
        unit="each",
        stock_on_hand=Decimal("600"),
        status="inspected",
        lot_code="FJ2026B01",
    ),
    dict(
        key="qy-2026-a01",
        product="qianya",
        village="huantan",
        cooperative="jinhua-svc",
        harvested_on=date(2026, 10, 12),
        quantity=Decimal("500"),
        unit="each",
        stock_on_hand=Decimal("188"),
        status="on_sale",
        lot_code="QY2026A01",
    ),
    dict(
        key="sm-2026-j01",
        product="shoumei",
        village="yunfei",
        cooperative="jinhua-plum-coop",
        harvested_on=date(2026, 6, 8),
        quantity=Decimal("2400"),
        unit="kg",
        stock_on_hand=Decimal("0"),
        status="sold_out",
        lot_code="SM2026J01",
    ),
    dict(
        key="sm-2026-j02",
        product="shoumei",
        village="huantan",
        cooperative="jinhua-plum-coop",
        harvested_on=date(2026, 6, 15),
        quantity=Decimal("1500"),
        unit="kg",
        stock_on_hand=Decimal("420"),
        status="recalled",
        lot_code="SM2026J02",
    ),
    dict(
        key="xq-2026-o01",
        product="celery",
        village="qunwei",
        cooperative="yinong-coop",
        harvested_on=date(2026, 10, 26),
        quantity=Decimal("21000"),
        unit="jin",
        stock_on_hand=Decimal("0"),
        status="sold_out",
        lot_code="XQ2026O01",
    ),
    dict(
        key="xq-2026-n01",
        product="celery",
        village="qunwei",
        cooperative="yinong-coop",
        harvested_on=date(2026, 11, 8),
        quantity=Decimal("42000"),
        unit="jin",
        stock_on_hand=Decimal("15600"),
        status="on_sale",
        lot_code="XQ2026N01",
    ),
    dict(
        key="xq-2026-n02",
        product="celery",
        village="sanwei",
        cooperative="yinong-coop",
        harvested_on=date(2026, 11, 14),
        quantity=Decimal("35000"),
        unit="jin",
        stock_on_hand=Decimal("26800"),
        status="on_sale",
        lot_code="XQ2026N02",
    ),
    dict(
        key="xq-2026-n03",
        product="celery",
        village="minwei",
        cooperative="yinong-coop",
        harvested_on=date(2026, 11, 20),
        quantity=Decimal("28000"),
        unit="jin",
        stock_on_hand=Decimal("28000"),
        status="registered",
        lot_code="XQ2026N03",
    ),
]

# The lowest grade each brand carries, per standard code (quality/standards/*.json). Illustrative:
# the seeds ask for a brand that only good produce may carry, without naming grades.
BRAND_MINIMUM_GRADES = [
    dict(brand="xihu-longjing", standard_code="GB/T 18650", grade_code="二级"),
    dict(brand="yunfei-shouqian", standard_code="GB/T 18650", grade_code="三级"),
    dict(brand="yunfei-shouqian", standard_code="UNECE FFV-29", grade_code="I"),
    dict(brand="yunfei-shouqian", standard_code="SH/QC 003", grade_code="二级"),
    dict(brand="gongfuzhi", standard_code="NY/T 1729", grade_code="二级"),
]

# Each inspected lot's sample is one of its standard's worked examples, named here.
LOT_INSPECTIONS = {
    "lj-2026-m01": "明前狮峰 pre-Qingming, hand-roasted",
    "lj-2026-m02": "明前狮峰 pre-Qingming, hand-roasted",
    "lj-2026-y01": "雨前 everyday tea",
    "yc-2026-s01": "雨前 everyday tea",
    "fj-2026-a01": "进化飞鸡, 180 days in the hills",
    "fj-2026-b01": "raised 18 weeks",
    "qy-2026-a01": "raised 18 weeks",
    "sm-2026-j01": "hand-picked Shoumei, June",
    "sm-2026-j02": "hand-picked Shoumei, June",
    "xq-2026-o01": "益农 autumn celery, well trimmed",
    "xq-2026-n01": "益农 autumn celery, well trimmed",
    "xq-2026-n02": "some yellow leaves and a few grade-3 plants",
}

# 利益联结: how each cluster's sales are split (basis points; 100 % = 10000).


class SharingRuleSeed(TypedDict):
    cluster: str
    name: str
    shares: list[tuple[str, int]]
    source: str


SHARING_RULES: list[SharingRuleSeed] = [
    dict(
        cluster="yinong",
        name="共富智 股份结构 (村集体10%+村小组10%+企业41%+村民39%)",
        shares=[
            ("village_collective", 1000),
            ("village_group", 1000),
            ("enterprise", 4100),
            ("farmers", 3900),
        ],
        source="seed 001: 「西葫蘆素村采取“村集體10%+村小組10%+企業(yè)41%+村民39%”的股份結(jié)構(gòu)」",
    ),
    dict(
        cluster="longwu",
        name="龙坞茶村 分成 (合作社70%+村集体10%+茶农15%+运营5%)",
        shares=[("cooperative", 7000), ("village_collective", 1000), ("farmers", 1500), ("operator", 500)],
        source="seed 002: 「推动建立权责明晰的契约型、分红型、股权型等片区利益联结机制」; "
        "percentages illustrative",
    ),
    dict(
        cluster="jinhua",
        name="云飞寿潜 强村公司分成 (合作社60%+村集体15%+农户20%+运营5%)",
        shares=[("cooperative", 6000), ("village_collective", 1500), ("farmers", 2000), ("operator", 500)],
        source="seed 003: 「带动10个村集体经营性收入增加」; percentages illustrative",
    ),
]

# 订单合作 (seed 001): 禾味食品 contracts ahead for 300 tonnes of the union's celery (seed 003:
# 3,000 mu at 7,000 jin per mu, cost 0.7 yuan/jin). Prices per jin in fen; figures illustrative.
CONTRACTS = [
    dict(
        key="hewei-yinong-celery-2026",
        enterprise="hewei-foods",
        grower="yinong-coop",
        product="celery",
        terms={
            "season": "2026 秋冬芹菜 autumn-winter celery",
            "quantity": Decimal("600000"),
            "unit": "jin",
            "tolerance_percent": Decimal("5"),
            "grades": ["一级", "二级", "三级"],
            "minimum_grade": "三级",
            "deposit_fen": 5_000_000,
            "currency": "CNY",
            "windows": [
                {
                    "starts_on": date(2026, 10, 1),
                    "ends_on": date(2026, 10, 31),
                    "quantity": Decimal("200000"),
                },
                {
                    "starts_on": date(2026, 11, 1),
                    "ends_on": date(2026, 11, 30),
                    "quantity": Decimal("200000"),
                },
                {
                    "starts_on": date(2026, 12, 1),
                    "ends_on": date(2026, 12, 31),
                    "quantity": Decimal("200000"),
                },
            ],
            "price_rule": {
                "kind": "market",
                "margin_percent": Decimal("10"),
                "floors_fen": {"一级": 130, "二级": 100, "三级": 75},
            },
        },
        market_prices=[
            ("一级", date(2026, 11, 9), 150),
            ("二级", date(2026, 11, 9), 110),
            ("三级", date(2026, 11, 9), 62),
        ],
        advances=[("seedlings", "芹菜种苗 celery seedlings", 3_000_000, date(2026, 8, 1))],
        deliveries=[
            dict(
                lot="xq-2026-n01",
                window=2,
                quantity=Decimal("12000"),
                delivered_on=date(2026, 11, 10),
                received=Decimal("11950"),
                receipt_grade="一级",
            )
        ],
    ),
]
