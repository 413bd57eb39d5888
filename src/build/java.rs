//! Java functions: Gradle, Maven or `build.sh` in a stage of the engine's own architecture (bytecode is the
//! same everywhere), else a prebuilt jar. The jar is `jarPath` from function.conf, not GGP's fixed
//! `build/libs/<name>-1.0-SNAPSHOT-all.jar` (still the default). Its contents become the package.

use super::recipe::{
    expand_archive, has_source, prebuilt, scripted, Images, Input, Recipe, JAVA_SH,
};

const BUILD_FILES: &[&str] = &[
    "gradlew",
    "build.gradle",
    "build.gradle.kts",
    "pom.xml",
    "build.sh",
];

pub fn recipes(input: &Input, images: &Images) -> Result<Vec<Recipe>, String> {
    let name = &input.f.function_name;
    let jar = input.f.jar_path.clone().unwrap_or_default();
    if BUILD_FILES.iter().any(|b| has_source(input.sources, b)) {
        return Ok(vec![scripted(
            input,
            images,
            true,
            "Java build",
            ("java.sh", JAVA_SH),
            &[name, &jar],
        )]);
    }
    let jar = if jar.is_empty() {
        format!("build/libs/{name}-1.0-SNAPSHOT-all.jar")
    } else {
        jar
    };
    let path = input.dir.join(&jar);
    if !path.is_file() {
        return Err(format!(
            "no build file ({}) and no jar at {jar}; set jarPath in function.conf",
            BUILD_FILES.join(", ")
        ));
    }
    Ok(vec![prebuilt(
        images,
        "prebuilt jar",
        expand_archive(&path)?,
    )])
}
